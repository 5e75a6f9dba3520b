"""Who consumes the task stream and how deep it is: the worker group's consumers
(XINFO CONSUMERS) and the stream's length, lag and pending count (XINFO GROUPS)."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from backend import keys
from backend.store.base import Base, text

CONSUMER_ACTIVE = 60.0
"""Seconds since its last read within which a consumer counts as reading."""


class Consumers(Base):
    """The group's consumers and the stream's depth."""

    async def queue_depth(self) -> dict[str, int]:
        """Entries in the stream, not yet delivered (lag) and delivered but unacked;
        and the group's consumers that are reading (see :meth:`consumers`)."""
        depth = {
            "length": int(await self.redis.xlen(self.keys.TASK_STREAM)),
            "lag": 0,
            "pending": 0,
            "consumers": 0,
        }
        try:
            groups = await self.redis.xinfo_groups(self.keys.TASK_STREAM)
        except ResponseError:
            return depth
        for group in groups:
            if text(group.get("name", b"")) == keys.WORKER_GROUP:
                depth["lag"] = int(group.get("lag") or 0)
                depth["pending"] = int(group.get("pending") or 0)
        depth["consumers"] = sum(c["reading"] for c in await self.consumers())
        return depth

    async def consumers(self, queue: str = "default") -> list[dict[str, Any]]:
        """The group's consumers of ``queue``'s stream (XINFO CONSUMERS): ``name``,
        ``pending`` (entries held),
        ``idle`` (seconds since it last read) and ``reading``: whether it holds entries
        or read within :data:`CONSUMER_ACTIVE` seconds. This is who consumes the queue,
        Go workers (each process the consumer ``dispatcher``) included, whether or
        not they send heartbeats."""
        try:
            found = await self.redis.xinfo_consumers(self.keys.stream(queue), keys.WORKER_GROUP)
        except ResponseError:  # no stream or no group yet
            return []
        consumers = []
        for consumer in found:
            pending = int(consumer.get("pending") or 0)
            idle = int(consumer.get("idle") or 0) / 1000
            consumers.append(
                {
                    "name": text(consumer.get("name", b"")),
                    "pending": pending,
                    "idle": idle,
                    "reading": pending > 0 or idle <= CONSUMER_ACTIVE,
                }
            )
        return consumers
