"""What the alert engine reads that nothing else does: the server's memory and the
newest dead letters (see :mod:`backend.alerts`)."""

from __future__ import annotations

from backend.store.base import Base
from backend.store.deadletters import DeadLetter


class AlertReads(Base):
    """Reads for :mod:`backend.alerts.watch`."""

    async def memory(self) -> tuple[int, int]:
        """The server's ``used_memory`` and ``maxmemory`` (0: no limit), in bytes."""
        info = await self.redis.info("memory")
        return int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))

    async def recent_dead_letters(self, since: float, count: int) -> list[DeadLetter]:
        """The newest ``count`` dead letters written since the epoch time ``since``
        (entry ids are the time they were written), newest first."""
        first = f"{int(since * 1000)}-0"
        entries = await self.redis.xrevrange(self.keys.DEAD_LETTERS, "+", first, count=count)
        return [DeadLetter.from_fields(entry, fields) for entry, fields in entries]
