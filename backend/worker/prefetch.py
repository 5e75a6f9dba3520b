"""Reading ahead of free slots for cheap tasks, and handing entries back when that
was a misjudgement.

A worker holds up to :attr:`Prefetch.window` entries: its concurrency for slow tasks,
plus, for cheap ones, as many as its slots get through in :data:`PREFETCH_WAIT`
(judged from the average task time), so reading never starves the slots. When that
guess is wrong (a slow task arrives after fast ones), entries wait in this
worker while other workers idle. Entries that have waited past
:data:`HAND_BACK_AFTER` without starting, and every waiting entry when the worker
stops, go back to the stream: the same ``task_data`` added as a new entry and the
old one acknowledged, in one MULTI, so the task is never lost (at worst, with the
connection lost mid-way, it is queued twice and runs at least once).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence

from backend.connection import is_broker_down
from backend.outage import Outage
from backend.store import TaskStore
from backend.worker.job import Job

log = logging.getLogger("backend.worker")

PREFETCH_WAIT = 0.02
"""Seconds a prefetched entry should wait for a free slot, at most (on average)."""
PREFETCH_MAX = 1000
HAND_BACK_AFTER = 0.5
"""Seconds a prefetched entry may wait for a free slot before it is handed back."""


class Prefetch:
    """How many entries a worker with ``concurrency`` slots should hold."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._avg: float | None = None

    @property
    def window(self) -> int:
        """Entries to hold at once: running plus prefetched."""
        avg = self._avg
        if avg is None or avg >= PREFETCH_WAIT:
            return self.concurrency
        extra = int(PREFETCH_WAIT * self.concurrency / max(avg, 1e-6))
        return self.concurrency + min(PREFETCH_MAX, extra)

    @property
    def read_threshold(self) -> int:
        """Free places worth a read: half the read-ahead (one for slow tasks)."""
        return max(1, (self.window - self.concurrency) // 2)

    def observe(self, took: float) -> None:
        """A task ran for ``took`` seconds (a moving average)."""
        self._avg = took if self._avg is None else self._avg * 0.9 + took * 0.1

    def misjudged(self) -> None:
        """Entries waited too long: read no further ahead until tasks prove quick."""
        self._avg = max(self._avg or 0.0, PREFETCH_WAIT)


async def hand_back(store: TaskStore, jobs: Sequence[Job]) -> None:
    """Queue ``jobs`` again for any worker and release this worker's entries."""
    if not jobs:
        return
    await store.hand_back([job.raw for job in jobs], [job.entry_id for job in jobs])


async def hand_back_waiting(
    store: TaskStore,
    outage: Outage,
    queue: deque[Job],
    queued_before: float = float("inf"),
    changed: Callable[[], None] | None = None,
) -> None:
    """Give the jobs waiting in ``queue`` since before ``queued_before`` (loop time; all
    of them by default) back to the stream; kept for a later try while the broker is away.
    ``changed`` is called once the queue has changed (jobs kept again, or room made):
    idle slots and a reader waiting for room must look again."""
    jobs = [j for j in queue if j.queued < queued_before and not j.cancel_requested]
    if not jobs:
        return
    for job in jobs:
        queue.remove(job)
    try:
        await hand_back(store, jobs)
    except Exception as exc:
        if not is_broker_down(exc):
            raise
        queue.extendleft(reversed(jobs))  # keep them; try again later
        if changed is not None:
            changed()
        await outage.failed(exc)
        return
    if changed is not None:
        changed()
    log.info("handed %d waiting task(s) back to the queue", len(jobs))


async def hand_back_loop(
    store: TaskStore,
    outage: Outage,
    queue: deque[Job],
    prefetch: Prefetch,
    changed: Callable[[], None] | None = None,
) -> None:
    """Hand back what waited past :data:`HAND_BACK_AFTER`, and read less far ahead
    (``changed``: see :func:`hand_back_waiting`)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(HAND_BACK_AFTER / 2)
        if queue and queue[0].queued < loop.time() - HAND_BACK_AFTER:
            prefetch.misjudged()
            await hand_back_waiting(store, outage, queue, loop.time() - HAND_BACK_AFTER, changed)
