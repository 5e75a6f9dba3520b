"""Task deadlines: one periodic check per worker instead of a timer per task.

Every :data:`CHECK_EVERY` seconds the watchdog interrupts the running jobs whose
deadline has passed; a task's timeout is thus honoured within that much. A handler
still running :data:`~backend.worker.job.STOP_WAIT` seconds after its interruption
swallowed it: the worker reports its task and frees its slot. Arming an
``asyncio.timeout`` for each task cost more than a no-op task itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from backend.worker.job import Interrupt, Job

log = logging.getLogger("backend.worker")

CHECK_EVERY = 0.05
"""Seconds between checks: how late past its timeout a task may be interrupted."""


async def watch(
    running: Callable[[], Iterable[Job]],
    stuck: Callable[[Job], None],
    every: float = CHECK_EVERY,
) -> None:
    """Interrupt overdue jobs among ``running()``, for ever; hand a job whose handler
    did not stop within :data:`~backend.worker.job.STOP_WAIT` of its interruption to
    ``stuck``."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for job in list(running()):
            if job.deadline > now or job.abandoned:
                continue
            if job.interrupted is None:
                log.info("task %s: timed out", job.task_id)
                job.interrupt(Interrupt.TIMEOUT)
            else:
                job.abandoned = True
                stuck(job)
