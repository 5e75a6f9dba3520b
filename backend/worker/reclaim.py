"""Reclaiming: taking over a dead worker's entries, and keeping our own from that.

An entry delivered to a consumer stays pending until acknowledged. Entries idle for
longer than ``claim_idle`` belong to a worker that died, so live workers find them
(XPENDING … IDLE) and take them over (XCLAIM, which counts the delivery) to run
them as a new attempt. Entries held by a consumer that is not one of our workers
(a Go worker, which reads as ``dispatcher`` and never renews its hold) are taken
only after ``foreign_claim_idle``. How often an entry was delivered goes with it to
the intake, which dead-letters one that keeps killing its workers. A live worker
keeps every entry it holds fresh (XCLAIM to itself, JUSTID, every third of
``claim_idle``, from its :class:`~backend.worker.keeper.Keeper` thread), so a long task
that is still running is never stolen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from backend.outage import Outage, keep_running
from backend.protocol import DEFAULT_QUEUE
from backend.store import Entry, TaskStore, unqualify

log = logging.getLogger("backend.worker")

SCAN = 100
"""Pending entries looked at per round."""
ROOM_POLL = 0.05
"""Seconds between looks for a free slot while abandoned entries are known to wait."""


def claim_interval(claim_idle: float) -> float:
    """How often to look for abandoned entries."""
    return min(5.0, max(0.1, claim_idle / 2))


def refresh_interval(claim_idle: float) -> float:
    """How often to touch our own entries: well inside ``claim_idle``."""
    return min(10.0, max(0.05, claim_idle / 3))


class Reclaimer:
    """Takes over abandoned entries (the :class:`~backend.worker.keeper.Keeper` keeps
    this worker's own fresh, from a thread)."""

    def __init__(
        self,
        store: TaskStore,
        outage: Outage,
        consumer: str,
        claim_idle: float,
        *,
        foreign_claim_idle: float = 600.0,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        room: Callable[[], int],
        accept: Callable[[Sequence[Entry], Mapping[bytes, int]], Awaitable[None]],
    ) -> None:
        self.store = store
        self.outage = outage
        self.consumer = consumer
        self.claim_idle = claim_idle
        self.foreign_claim_idle = max(foreign_claim_idle, claim_idle)
        self._room = room
        self._accept = accept
        self.queues = list(queues)
        self._cursors: dict[tuple[int, str], str] = {}
        """Where the next look at each part's (shard's) queue starts."""

    async def claim_loop(self, stopping: asyncio.Event) -> None:
        """Every so often, take over entries idle past ``claim_idle`` (while there is room)."""

        waiting = False  # abandoned entries are known to wait for room

        async def round() -> float:
            nonlocal waiting
            room = self._room()
            if room > 0:
                entries, deliveries, more = await self.claim(room)
                if entries:
                    log.info("reclaimed %d abandoned task(s)", len(entries))
                    await self._accept(entries, deliveries)
                waiting = bool(entries) or more
                if waiting:
                    return 0  # there may be more
            elif waiting:  # take the next as soon as a slot frees, not a round later
                return ROOM_POLL
            return claim_interval(self.claim_idle)

        await keep_running(round, self.outage, name="the reclaimer", until=stopping)

    async def claim(self, room: int) -> tuple[list[Entry], dict[bytes, int], bool]:
        """Take over up to ``room`` abandoned entries: those of our workers idle past
        ``claim_idle``, those of other consumers (Go workers never renew their hold)
        idle past ``foreign_claim_idle``. Returns them, how often each was delivered
        before, and whether more may be waiting."""
        entries: list[Entry] = []
        deliveries: dict[bytes, int] = {}
        more = False
        parts = await self.store.parts()  # a sharded queue: each shard in turn
        for queue in self.queues:
            for index, part in enumerate(parts):
                got, delivered, again = await self._claim_from(
                    part, (index, queue), room - len(entries)
                )
                entries += got
                deliveries.update(delivered)
                more = more or again
                if len(entries) >= room:
                    return entries, deliveries, more
        return entries, deliveries, more

    async def _claim_from(
        self, part: TaskStore, at: tuple[int, str], room: int
    ) -> tuple[list[Entry], dict[bytes, int], bool]:
        queue = at[1]
        rows = await part.pending_idle(self.claim_idle, self._cursors.get(at, "-"), SCAN, queue)
        more = len(rows) == SCAN
        self._cursors[at] = _after(rows[-1].entry_id) if more else "-"
        if not rows:
            return [], {}, more
        ours = await self.store.worker_names()
        ours.add(self.consumer)
        due = [r for r in rows if r.consumer in ours or r.idle >= self.foreign_claim_idle]
        if len(due) > room:
            due = due[:room]
            self._cursors[at], more = _after(due[-1].entry_id), True
        own = [r.entry_id for r in due if r.consumer in ours]
        foreign = [r.entry_id for r in due if r.consumer not in ours]
        entries = await part.claim(self.consumer, self.claim_idle, own)
        entries += await part.claim(self.consumer, self.foreign_claim_idle, foreign)
        return entries, {r.entry_id: r.deliveries for r in due}, more


def _after(entry_id: bytes) -> str:
    """The XPENDING start just after held entry ``entry_id`` (in its own stream)."""
    return "(" + unqualify(entry_id)[1].decode()
