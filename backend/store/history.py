"""Reading the per-minute history the scripts write (see :mod:`backend.history`); the
upkeep left for later is settled first (:mod:`backend.store.backlog`)."""

from __future__ import annotations

from typing import Any

from backend import history
from backend.store.backlog import Backlog
from backend.store.base import text


class Minutes(Backlog):
    """The per-minute count hashes."""

    async def minutes(self, first: int, last: int) -> dict[int, dict[str, int]]:
        """The counts of each epoch minute from ``first`` to ``last`` (included) that
        has any, in one round trip."""
        span = range(first, last + 1)
        await self.settle()
        async with self.redis.pipeline(transaction=False) as pipe:
            for minute in span:
                pipe.hgetall(self.keys.minute(minute))
            found = await pipe.execute()
        return {
            minute: {text(k): int(v) for k, v in fields.items()}
            for minute, fields in zip(span, found, strict=True)
            if fields
        }

    async def history(self, name: str, now: float | None = None) -> history.History:
        """The points of range ``name`` (``1h``, ``24h``, ``7d``: see
        :data:`backend.history.RANGES`) up to the current minute."""
        if name not in history.RANGES:
            raise ValueError(f"range must be one of {', '.join(history.RANGES)}, not {name!r}")
        if now is None:
            now = await self._server_now()
        last = history.epoch_minute(now)
        span, step = history.RANGES[name]
        first = last - span + 1
        first -= first % step
        return history.series(name, await self.minutes(first, last), last)

    async def recent(self) -> dict[str, Any]:
        """``/stats``' last-minute figures (:func:`backend.history.recent`): the tasks
        finished this minute and the previous one, by the server's clock."""
        now = await self._server_now()
        minute = history.epoch_minute(now)
        return history.recent(now, await self.minutes(minute - 1, minute))

    async def last_minute(self) -> dict[str, float]:
        """The counts of the last 60 seconds (by the server's clock): this minute's,
        plus the previous minute's weighted by the part of it within the window."""
        now = await self._server_now()
        minute = history.epoch_minute(now)
        found = await self.minutes(minute - 1, minute)
        weight = 1 - (now - minute * 60) / 60
        counts: dict[str, float] = {}
        for at, fields in found.items():
            for what in history.COUNTS:
                share = fields.get(what, 0) * (weight if at < minute else 1.0)
                counts[what] = counts.get(what, 0.0) + share
        return counts

    async def _server_now(self) -> float:
        """Epoch seconds by the clock the scripts count by: the server's."""
        seconds, micros = await self.redis.time()
        return float(seconds + micros / 1e6)
