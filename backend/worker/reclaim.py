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

from redis.exceptions import ResponseError

from backend.store import Entry, TaskStore
from backend.worker.outage import Outage, is_transient

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
        while not stopping.is_set():
            room = self._room()
            if room > 0:
                try:
                    entries = await self.claim(room)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    await self.outage.failed(exc)
                    continue
                if entries:
                    log.info("reclaimed %d abandoned task(s)", len(entries))
                    await self._accept(entries)
                    continue  # there may be more
            await _wait(stopping, claim_interval(self.claim_idle))

    async def claim(self, count: int) -> list[Entry]:
        try:
            self._cursor, entries = await self.store.autoclaim(
                self.consumer, self.claim_idle, self._cursor, count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.store.ensure_group()
            return []
        self.outage.ok()
        return entries

    async def refresh_loop(self, stopping: asyncio.Event) -> None:
        """Keep the entries this worker holds from looking abandoned."""
        interval = refresh_interval(self.claim_idle)
        while True:  # runs through the drain too; stopped by cancellation
            await asyncio.sleep(interval)
            ids = list(self._held())
            try:
                await self.store.keep(self.consumer, ids)
            except Exception as exc:
                if not is_transient(exc) and not isinstance(exc, ResponseError):
                    raise
                if isinstance(exc, ResponseError):
                    log.debug("refreshing held entries: %s", exc)
                    continue
                await self.outage.failed(exc)
                continue


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass
