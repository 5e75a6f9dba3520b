"""Keeping the task stream bounded.

- Trimming: acknowledged entries are removed from ``task_stream`` (XTRIM MINID below
  what every group still needs: its last-delivered entry and its oldest pending one).
- Consumers that are gone (no heartbeat, nothing held, idle) leave the group; the
  check and the removal are one script, so nothing a consumer holds is ever dropped.
"""

from __future__ import annotations

from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from backend import keys
from backend.store.base import text
from backend.store.consumers import Consumers
from backend.store.queue import Queue


def _stream_id(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = text(value).partition("-")
    return int(ms), int(seq or 0)


class Upkeep(Queue, Consumers):
    """Trimming the stream, forgetting consumers that are gone."""

    _forget_consumer: AsyncScript

    async def trim_stream(self) -> int:
        """Remove acknowledged entries from ``task_stream``; how many went.

        Every group keeps what it has not been delivered yet (after its last-delivered
        id) and what it holds (from its oldest pending id); with no group, nothing goes.
        """
        try:
            groups = await self.redis.xinfo_groups(self.keys.TASK_STREAM)
        except ResponseError:  # no stream yet
            return 0
        floors: list[tuple[int, int]] = []
        for group in groups:
            floors.append(_stream_id(group["last-delivered-id"]))
            if int(group.get("pending") or 0):
                summary = await self.redis.xpending(self.keys.TASK_STREAM, group["name"])
                if summary.get("min"):
                    floors.append(_stream_id(summary["min"]))
        if not floors:
            return 0
        ms, seq = min(floors)
        return int(
            await self.redis.xtrim(self.keys.TASK_STREAM, minid=f"{ms}-{seq}", approximate=False)
        )

    async def forget_consumers(self, *, idle: float, keep: str) -> list[str]:
        """Remove from the group the consumers that are gone: no heartbeat, no entry
        held, idle for ``idle`` seconds or more (never ``keep``, the caller). Their
        names."""
        quiet = await self._quiet_consumers(idle, keep)
        if not quiet:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in quiet:
                pipe.exists(self.keys.worker_alive(name))
            alive = await pipe.execute()
        gone = []
        for name, up in zip(quiet, alive, strict=True):
            if not up and await self._forget_consumer(
                keys=[self.keys.TASK_STREAM], args=[keys.WORKER_GROUP, name]
            ):
                gone.append(name)
        return gone

    async def _quiet_consumers(self, idle: float, keep: str) -> list[str]:
        """The group's consumers that hold no entry and were idle ``idle`` seconds or
        more, ``keep`` left out: those a missing heartbeat makes gone."""
        return [
            c["name"]
            for c in await self.consumers()
            if not c["pending"] and c["idle"] >= idle and c["name"] != keep
        ]
