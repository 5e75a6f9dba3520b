"""The local queue and the slots: ``concurrency`` coroutines that run its jobs.

Jobs wait in :attr:`Slots.queue` (prefetched entries); each slot takes the next one
and runs it through the executor, and :attr:`Slots.running` holds those running. A
job whose handler did not stop when interrupted (it swallowed the cancellation) is
abandoned: its slot is set aside in :attr:`Slots.stuck` and a new slot takes its
place, so the worker keeps its concurrency. A cancel request interrupts the job of its
task, running or queued (:meth:`Slots.cancel`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from backend.worker.executor import Executor
from backend.worker.job import Interrupt, Job
from backend.worker.outbox import Outbox
from backend.worker.prefetch import Prefetch

log = logging.getLogger("backend.worker")

YIELD_EVERY = 0.005
"""Seconds a slot may run cheap tasks back to back before letting others run."""

Supervise = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Slots:
    """Runs queued jobs, ``concurrency`` at a time."""

    def __init__(
        self,
        concurrency: int,
        executor: Executor,
        outbox: Outbox,
        prefetch: Prefetch,
        *,
        after_run: Callable[[], None],
    ) -> None:
        self.concurrency = concurrency
        self.executor = executor
        self.outbox = outbox
        self.prefetch = prefetch
        self._after_run = after_run
        self.queue: deque[Job] = deque()
        self.running: dict[bytes, Job] = {}
        self.tasks: list[asyncio.Task[Any]] = []
        self.stuck: list[asyncio.Task[Any]] = []
        """Slots whose handler did not stop when interrupted (abandoned, not awaited)."""
        self._work = asyncio.Event()
        self._closing = False
        self._supervise: Supervise = asyncio.create_task

    def start(self, supervise: Supervise) -> None:
        """Start the slots, each through ``supervise`` (which reports one that dies)."""
        self._supervise = supervise
        self.tasks = [supervise(self._slot()) for _ in range(self.concurrency)]

    def add(self, jobs: Iterable[Job]) -> None:
        self.queue.extend(jobs)
        self._work.set()

    def wake(self) -> None:
        """The queue changed behind the slots' back (jobs put back): idle slots look again."""
        self._work.set()

    def cancel(self, task_id: str) -> None:
        """Interrupt the task ``task_id`` if it runs or waits here (a cancel request)."""
        for job in [*self.running.values(), *self.queue]:
            if job.task_id == task_id:
                log.info("task %s: cancel requested", task_id)
                job.cancel()

    def running_names(self) -> list[str]:
        """The running tasks, for people (called from the keeper's thread too)."""
        return [f"{job.task.name} {job.task_id}" for job in list(self.running.values())]

    def close(self) -> None:
        """Let each slot end once the queue is empty."""
        self._closing = True
        self._work.set()

    async def _slot(self) -> None:
        loop = asyncio.get_running_loop()
        last_yield = loop.time()
        while True:
            if not self.queue:
                if self._closing:
                    return
                self._work.clear()
                await self._work.wait()
                last_yield = loop.time()
                continue
            job = self.queue.popleft()
            await self._run(job)
            if job.abandoned:
                return  # a new slot took this one's place when it did not stop
            self._after_run()
            if loop.time() - last_yield > YIELD_EVERY:
                await asyncio.sleep(0)
                last_yield = loop.time()

    async def _run(self, job: Job) -> None:
        self.running[job.entry_id] = job
        started = time.perf_counter()
        try:
            await self.executor.run(job)
        except Exception:
            log.exception("task %s: internal error; it will be reclaimed", job.task_id)
        finally:
            self.running.pop(job.entry_id, None)
        took = time.perf_counter() - started
        self.prefetch.observe(took)
        if not self.queue and not self.running:
            self.outbox.flush_soon()

    def abandon(self, job: Job) -> None:
        """``job``'s handler did not stop when interrupted: report its task, leave the
        handler to itself and give its slot's place to a new slot."""
        log.warning(
            "task %s (%s): its handler did not stop when %s; reporting it and moving on",
            job.task_id,
            job.task.name,
            "cancelled" if job.interrupted is Interrupt.CANCEL else "its timeout passed",
        )
        self.running.pop(job.entry_id, None)
        runner = job.runner
        if runner in self.tasks:
            self.tasks.remove(runner)
            self.stuck.append(runner)
            if not self._closing:
                self.tasks.append(self._supervise(self._slot()))
        self._supervise(self.executor.abandon(job))
        self._after_run()
