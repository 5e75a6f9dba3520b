"""One delivery of a task to this worker: the entry, the task, and its state so far.

A job numbers its status updates: ``(attempt, seq)`` strictly increases for a task
(the manager's ``pending`` is seq 0 of the attempt; this worker's first update is 1).
While its handler runs, a job can be interrupted (a cancel, or the worker's
watchdog, :func:`backend.worker.watchdog.watch`, at its deadline): the slot running it is
cancelled and the executor turns that into the outcome. A handler that swallows the
cancellation is abandoned :data:`STOP_WAIT` seconds later: its outcome is reported
without it and its slot replaced.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum

from backend import messages
from backend.protocol import Task, TaskStatus
from backend.results import Result
from backend.state import TaskState
from backend.store import SUBMIT_SOURCE
from backend.worker.running import Change, Running

QUEUED_MESSAGE = messages.QUEUED
NO_DEADLINE = float("inf")
STOP_WAIT = 2.0
"""Seconds an interrupted handler gets to stop before its task is reported and its
slot given to the next one (the handler swallowed the cancellation)."""


class Interrupt(Enum):
    CANCEL = "cancel"
    TIMEOUT = "timeout"


@dataclass(slots=True, eq=False)
class Job:
    """A task this worker holds, from delivery until its outcome is acknowledged."""

    entry_id: bytes
    raw: bytes
    task: Task
    state: Running
    attempt: int
    worker: str
    seq: int = 0
    cancel_requested: bool = False
    finished: bool = False
    queued: float = 0.0
    """Loop time it entered this worker's local queue (see ``prefetch``)."""
    deadline: float = NO_DEADLINE
    """Loop time its handler must be done by (while it runs)."""
    runner: asyncio.Task[object] | None = field(default=None, repr=False)
    """The asyncio task running its handler, while it does."""
    interrupted: Interrupt | None = None
    abandoned: bool = False
    """Its handler did not stop when interrupted: the task's outcome is reported without
    it, and whatever it does later is ignored."""

    @classmethod
    def fresh(cls, entry_id: bytes, raw: bytes, task: Task, worker: str) -> Job:
        """A first delivery: the state starts from the task (as the manager recorded it)."""
        state = Running.from_task(task, pending_by=SUBMIT_SOURCE, message=QUEUED_MESSAGE)
        return cls(entry_id, raw, task, state, task.attempt, worker)

    @property
    def task_id(self) -> str:
        return self.task.id

    def resume_from(self, stored: TaskState) -> None:
        """Carry on from a recorded state (keeps the earlier attempts' history)."""
        self.state = Running.from_state(stored)

    def update(
        self,
        status: TaskStatus,
        message: str,
        *,
        progress: int | None = None,
        error: str | None = None,
        result: Result | None = None,
    ) -> Change:
        """The next status update of this job, already applied to its state."""
        self.seq += 1
        change = self.state.advance(
            status,
            message,
            worker=self.worker,
            attempt=self.attempt,
            seq=self.seq,
            name=self.task.name,
            progress=progress,
            error=error,
            result=result,
        )
        if status.terminal or status is TaskStatus.RETRYING:
            self.finished = True
        return change

    def interrupt(self, why: Interrupt) -> None:
        """Stop the running handler (the first reason wins); nothing if not running."""
        if self.runner is not None and self.interrupted is None:
            self.interrupted = why
            self.deadline = asyncio.get_running_loop().time() + STOP_WAIT
            self.runner.cancel()

    def cancel(self) -> None:
        """Ask the job to stop: skipped if not started, interrupted if running."""
        self.cancel_requested = True
        self.interrupt(Interrupt.CANCEL)
