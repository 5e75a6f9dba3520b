"""Who holds which delivered, unacknowledged task entries (the group's pending list),
and moving or releasing a stuck one. The consumers themselves (with how many entries
each holds) are :meth:`~backend.store.consumers.Consumers.consumers`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.commands.core import AsyncScript

from backend import keys
from backend.errors import ProtocolError
from backend.protocol import decode_task
from backend.store.base import Base, text


@dataclass
class PendingEntry:
    """A delivered entry not yet acknowledged."""

    entry: str
    consumer: str
    idle: float
    """Seconds since it was last delivered or kept fresh by its holder."""
    deliveries: int
    task_id: str = ""
    name: str = ""


class Ownership(Base):
    """The worker group's pending entries (XPENDING, XCLAIM, a release script)."""

    _release: AsyncScript

    async def pending_entries(
        self, consumer: str | None = None, limit: int = 1000, stream: str | None = None
    ) -> list[PendingEntry]:
        """Up to ``limit`` pending entries (of one ``consumer``, or all), oldest first,
        with the task each carries (``stream``: the ``default`` queue's when not given)."""
        stream = stream or self.keys.TASK_STREAM
        try:
            rows = await self.redis.xpending_range(
                stream, keys.WORKER_GROUP, "-", "+", limit, consumername=consumer
            )
        except Exception as exc:
            if "no such key" in str(exc).lower() or "nogroup" in str(exc).lower():
                return []
            raise
        entries = [
            PendingEntry(
                entry=text(row["message_id"]),
                consumer=text(row["consumer"]),
                idle=int(row["time_since_delivered"]) / 1000,
                deliveries=int(row["times_delivered"]),
            )
            for row in rows
        ]
        if entries:
            async with self.redis.pipeline(transaction=False) as pipe:
                for item in entries:
                    pipe.xrange(stream, item.entry, item.entry)
                found = await pipe.execute()
            for item, got in zip(entries, found, strict=True):
                fields = got[0][1] if got else {}
                raw = fields.get(keys.TASK_FIELD.encode())
                if raw is None:
                    continue
                try:
                    task = decode_task(raw)
                except ProtocolError:
                    continue
                item.task_id, item.name = task.id, task.name
        return entries

    async def move_pending(
        self, entries: Sequence[str], to_consumer: str, stream: str | None = None
    ) -> int:
        """Give pending entries to another consumer (XCLAIM); how many moved."""
        stream = stream or self.keys.TASK_STREAM
        if not entries:
            return 0
        moved = await self.redis.xclaim(
            stream, keys.WORKER_GROUP, to_consumer, 0, list(entries), justid=True
        )
        return len(moved)

    async def release_pending(self, entries: Sequence[str], stream: str | None = None) -> int:
        """Put pending entries back on the stream as new entries (any worker takes
        them) and acknowledge the old ones, in one step; how many were released."""
        stream = stream or self.keys.TASK_STREAM
        if not entries:
            return 0
        moved = await self._release(
            keys=[stream], args=[keys.WORKER_GROUP, keys.TASK_FIELD, *entries]
        )
        return len(moved)
