"""Reclaiming: taking over a dead worker's entries, and keeping our own from that.

An entry delivered to a consumer stays pending until acknowledged. Entries idle for
longer than ``claim_idle`` belong to a worker that died, so live workers take them
over with XAUTOCLAIM and run them as a new attempt. A live worker keeps every entry
it holds fresh (XCLAIM to itself, JUSTID, every third of ``claim_idle``), so a long
task that is still running is never stolen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence

from backend.outage import Outage, keep_running
from backend.store import Entry, TaskStore

log = logging.getLogger("backend.worker")


def claim_interval(claim_idle: float) -> float:
    """How often to look for abandoned entries."""
    return min(5.0, max(0.1, claim_idle / 2))


def refresh_interval(claim_idle: float) -> float:
    """How often to touch our own entries: well inside ``claim_idle``."""
    return min(10.0, max(0.05, claim_idle / 3))


class Reclaimer:
    """The two loops: take over abandoned entries, keep ours fresh."""

    def __init__(
        self,
        store: TaskStore,
        outage: Outage,
        consumer: str,
        claim_idle: float,
        *,
        room: Callable[[], int],
        held: Callable[[], Collection[bytes]],
        accept: Callable[[Sequence[Entry]], Awaitable[None]],
    ) -> None:
        self.store = store
        self.outage = outage
        self.consumer = consumer
        self.claim_idle = claim_idle
        self._room = room
        self._held = held
        self._accept = accept
        self._cursor = "0-0"

    async def claim_loop(self, stopping: asyncio.Event) -> None:
        """Every so often, take over entries idle past ``claim_idle`` (while there is room)."""

        async def round() -> float:
            room = self._room()
            if room > 0:
                entries = await self.claim(room)
                if entries:
                    log.info("reclaimed %d abandoned task(s)", len(entries))
                    await self._accept(entries)
                    return 0  # there may be more
            return claim_interval(self.claim_idle)

        await keep_running(round, self.outage, name="the reclaimer", until=stopping)

    async def claim(self, count: int) -> list[Entry]:
        self._cursor, entries = await self.store.autoclaim(
            self.consumer, self.claim_idle, self._cursor, count
        )
        return entries

    async def refresh_loop(self, stopping: asyncio.Event) -> None:
        """Keep the entries this worker holds from looking abandoned."""
        interval = refresh_interval(self.claim_idle)

        async def round() -> float:
            await self.store.keep(self.consumer, list(self._held()))
            return interval

        # Runs through the drain too; stopped by cancellation. An error reply is a
        # bug that stops the worker: a held task must never silently lose its hold.
        await asyncio.sleep(interval)
        await keep_running(round, self.outage, name="keeping held tasks")
