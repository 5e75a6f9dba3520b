"""Running one job: its handler, interrupted at its deadline or by a cancel, then its
outcome.

The deadline is kept by the worker's watchdog (:func:`backend.worker.watchdog.watch`:
one periodic check for all jobs, not a timer per task); a cancel interrupts at once.

The outcome is one status change queued in the :class:`Outbox` with the entry's
acknowledgement: ``completed``; ``cancelled``; ``retrying`` (the task is scheduled
again after an exponential backoff, as a new attempt) or, past its retries,
``failed`` with a copy in the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from backend import messages
from backend.handlers import Registry, TaskContext
from backend.outage import Outage
from backend.protocol import TaskStatus
from backend.results import ResultRefused, check_result
from backend.store import TaskStore
from backend.worker.control import Cancels
from backend.worker.job import NO_DEADLINE, Interrupt, Job
from backend.worker.outbox import Outbox
from backend.worker.running import Change

log = logging.getLogger("backend.worker")

MAX_BACKOFF = 600.0
DEFAULT_MAX_RESULT = 1 << 20


def retry_delay(base: float, retries: int) -> float:
    """Seconds before retry number ``retries + 1``: ``base`` doubling, capped."""
    return float(min(MAX_BACKOFF, base * 2**retries))


class Executor:
    """Runs jobs and queues their outcomes."""

    def __init__(
        self,
        store: TaskStore,
        outbox: Outbox,
        outage: Outage,
        registry: Registry,
        cancels: Cancels,
        *,
        task_timeout: float,
        max_retries: int,
        retry_backoff: float,
        max_result: int = DEFAULT_MAX_RESULT,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.outage = outage
        self.registry = registry
        self.cancels = cancels
        self.task_timeout = task_timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.max_result = max_result
        self.completed = 0
        self.failed = 0
        self.verbose = log.isEnabledFor(logging.INFO)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    async def run(self, job: Job) -> None:
        """Run ``job`` to its outcome (queued in the outbox with the entry's ack)."""
        if job.cancel_requested:
            self._cancelled(job, messages.CANCELLED_QUEUED)
            return
        handler = self.registry.get(job.task.handler_name)
        if handler is None:
            reason = f"no handler for task {job.task.handler_name!r}"
            await self._give_up(job, reason, messages.no_handler(reason))
            return
        started = messages.started(job.task.handler_name)
        self._emit(job, job.update(TaskStatus.PROCESSING, started, progress=0))
        timeout = job.task.timeout or self.task_timeout
        ctx = TaskContext(job.task_id, job.task.payload, job.attempt, job.task.name)
        ctx._sink = lambda pct, message: self._progress(job, pct, message)
        runner = asyncio.current_task()
        assert runner is not None
        job.deadline = self._loop.time() + timeout
        job.runner = runner
        error: str | None = None
        value: object = None
        try:
            value = await handler(ctx)
        except asyncio.CancelledError:
            if job.interrupted is None:
                raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        except (SystemExit, KeyboardInterrupt) as exc:  # a task cannot stop its worker
            error = f"{type(exc).__name__}({exc}): the handler tried to stop its worker"
        finally:
            job.runner = None
            job.deadline = NO_DEADLINE
        if job.abandoned:
            return  # reported when it did not stop (see abandon)
        why = job.interrupted
        if why is not None and runner.uncancel() > 0:
            raise asyncio.CancelledError  # stopped from outside as well
        if why is Interrupt.CANCEL:
            self._cancelled(job, messages.CANCELLED_RUNNING)
        elif why is Interrupt.TIMEOUT:
            await self._failed(job, f"timed out after {timeout:g} s")
        elif error is not None:
            await self._failed(job, error)
        else:
            try:
                result = check_result(value, self.max_result)
            except ResultRefused as refused:
                # The same code would return the same value again: no retries.
                await self._give_up(job, str(refused), f"Failed: {refused}")
                return
            self.completed += 1
            done = messages.completed(job.task.handler_name)
            change = job.update(TaskStatus.COMPLETED, done, progress=100, result=result)
            self._finish(job, change)

    async def abandon(self, job: Job) -> None:
        """Report a job whose handler did not stop when interrupted (it runs on, ignored)."""
        if job.interrupted is Interrupt.CANCEL:
            self._cancelled(job, "Cancelled while running (its handler did not stop)")
            return
        timeout = job.task.timeout or self.task_timeout
        error = f"did not stop after its timeout ({timeout:g} s)"
        await self._give_up(job, error, f"Failed: {error}")

    def _cancelled(self, job: Job, message: str) -> None:
        self._finish(job, job.update(TaskStatus.CANCELLED, message))

    def _progress(self, job: Job, pct: int, message: str) -> None:
        if threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._progress, job, pct, message)
            return
        if not job.finished:
            self.outbox.add(job.state, job.update(TaskStatus.PROCESSING, message, progress=pct))

    async def _failed(self, job: Job, error: str) -> None:
        task = job.task
        limit = task.max_retries if "max_retries" in task.model_fields_set else self.max_retries
        if task.retries >= limit:
            tries = task.retries + 1
            await self._give_up(job, error, messages.gave_up(tries, error))
            return
        delay = retry_delay(self.retry_backoff, task.retries)
        again = task.model_copy(
            update={"retries": task.retries + 1, "attempt": job.attempt + 1, "max_retries": limit}
        )
        await self.outage.persist(lambda: self.store.schedule_retry(again, time.time() + delay))
        message = messages.retrying(job.attempt, error, delay)
        self._finish(job, job.update(TaskStatus.RETRYING, message, error=error))

    async def _give_up(self, job: Job, error: str, message: str) -> None:
        worker = job.worker
        await self.outage.persist(
            lambda: self.store.dead_letter(job.task_id, job.raw, error, worker)
        )
        self.failed += 1
        self._finish(job, job.update(TaskStatus.FAILED, message, error=error))

    def _emit(self, job: Job, change: Change) -> None:
        self.outbox.add(job.state, change)
        if self.verbose:
            log.info("task %s %s: %s", job.task_id, change.status.value, change.message)

    def _finish(self, job: Job, change: Change) -> None:
        self._emit(job, change)
        self.outbox.ack(job.entry_id)
        if change.status.terminal:  # a cancel request that raced the outcome goes too
            self.cancels.forget(job.task_id)
            self.outbox.forget_cancel(job.task_id)
