"""Keeping time: due tasks into their queues, and periodic tasks, on time, exactly once.

Delayed tasks and retries wait in their queue's schedule (a sorted set scored by due
time, :func:`backend.keys.due`). Every worker and every manager runs a
:class:`Promoter`; each round it moves whatever is due with the atomic PROMOTE script
(:data:`backend.scripts.PROMOTE_RETRIES`: ZRANGEBYSCORE, XADD, ZREM in one command),
so however many promoters run, a task moves once. The same loop runs the periodic
tasks' schedules: a schedule due queues one task per tick (claimed by a key set only
if absent: see :mod:`backend.schedules`).

A promoter does not poll: it reads the earliest due time of every queue's schedule
and the earliest next tick (``ZRANGE … 0 0 WITHSCORES``) and sleeps until then, or
until a submitter announces a new delayed task or schedule on
:data:`backend.keys.SCHEDULED_CHANNEL` (which may be earlier), or at most
:data:`MAX_SLEEP`. So a due task is moved within a few milliseconds of its
time while any part is alive; one due while everything was down moves as soon as a
part starts.
"""

from __future__ import annotations

import logging
import time

from backend import keys
from backend.outage import Outage, keep_running
from backend.protocol import Task
from backend.schedules import Schedule
from backend.store import Subscription, TaskStore

log = logging.getLogger("backend.promoter")

MAX_SLEEP = 1.0
"""Seconds a promoter sleeps at most (it also wakes on new schedule entries)."""
PROMOTE_LIMIT = 500
"""Tasks moved per command (a queue with more due goes round again at once)."""


class Promoter:
    """One process's promoter: :meth:`run` it as a background task."""

    def __init__(self, store: TaskStore, outage: Outage, *, max_sleep: float = MAX_SLEEP) -> None:
        self.store = store
        self.outage = outage
        self.max_sleep = max_sleep
        self.moved = 0
        """Tasks this promoter moved (for logs and tests)."""
        self.ticks = 0
        """Periodic tasks this promoter queued."""
        self._wakes: Subscription | None = None

    async def run(self) -> None:
        """Promote for ever (until cancelled); outages are waited out."""
        try:
            await keep_running(self._round, self.outage, name="the promoter")
        finally:
            if self._wakes is not None:
                await self._wakes.aclose()

    async def promote(self) -> float | None:
        """Move what is due now; the earliest due time left (``None``: nothing waits)."""
        queues = await self.store.queue_names()
        while True:
            now = time.time()
            head = await self.store.next_due(queues)
            if head is None or head > now:
                return head
            for queue in queues:
                moved = await self.store.promote_due(queue, PROMOTE_LIMIT)
                if moved:
                    self.moved += moved
                    log.debug("moved %d due task(s) into queue %s", moved, queue)

    async def run_schedules(self) -> float | None:
        """Queue one task for each schedule tick that is due (the ticks this process
        claims); the earliest next tick (``None``: no running schedule)."""
        while True:
            now = time.time()
            head = await self.store.next_tick()
            if head is None or head > now:
                return head
            for schedule, tick in await self.store.due_schedules(now):
                await self._tick(schedule, tick, now)

    async def _tick(self, schedule: Schedule, tick: float, now: float) -> None:
        # Ticks missed while everything was down: one catch-up run, for the latest.
        latest = max(tick, schedule.last_at_or_before(now))
        if await self.store.claim_tick(schedule, latest):
            retries = {} if schedule.max_retries is None else {"max_retries": schedule.max_retries}
            task = Task(
                name=schedule.name, payload=schedule.payload, queue=schedule.queue, **retries
            )
            await self.store.submit([task])
            self.ticks += 1
            log.info("schedule %s (%s): queued task %s", schedule.id, schedule.describe, task.id)
        await self.store.advance_schedule(schedule.id, schedule.next_after(max(latest, now)))

    async def _round(self) -> None:
        if self._wakes is None:
            self._wakes = await self.store.subscribe(keys.SCHEDULED_CHANNEL)
        heads = [head for head in (await self.promote(), await self.run_schedules()) if head]
        wait = min([self.max_sleep, *(head - time.time() for head in heads)])
        if wait > 0:
            await self._wakes.get(within=wait)  # a new entry (maybe earlier), or time's up
