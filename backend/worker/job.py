"""One delivery of a task to this worker: the entry, the task, and its state so far.

A job numbers its status updates: ``(attempt, seq)`` strictly increases for a task
(the manager's ``pending`` is seq 0 of the attempt; this worker's first update is 1).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from backend.protocol import StatusUpdate, Task, TaskStatus, make_update
from backend.state import HistoryEntry, TaskState
from backend.store import SUBMIT_SOURCE

QUEUED_MESSAGE = "Task queued"


@dataclass(slots=True, eq=False)
class Job:
    """A task this worker holds, from delivery until its outcome is acknowledged."""

    entry_id: bytes
    raw: bytes
    task: Task
    state: TaskState
    attempt: int
    worker: str
    seq: int = 0
    cancel_requested: bool = False
    finished: bool = False
    queued: float = 0.0
    """Loop time it entered this worker's local queue (see ``handback``)."""
    timeout: asyncio.Timeout | None = field(default=None, repr=False)

    @classmethod
    def fresh(cls, entry_id: bytes, raw: bytes, task: Task, worker: str) -> Job:
        """A first delivery: the state starts from the task (as the manager recorded it)."""
        state = TaskState.from_task(task)
        state.history.append(
            HistoryEntry(
                status=TaskStatus.PENDING,
                ts=state.created,
                worker=SUBMIT_SOURCE,
                message=QUEUED_MESSAGE,
                attempt=task.attempt,
            )
        )
        return cls(entry_id, raw, task, state, task.attempt, worker)

    @property
    def task_id(self) -> str:
        return self.task.id

    def update(
        self,
        status: TaskStatus,
        message: str,
        *,
        progress: int | None = None,
        error: str | None = None,
    ) -> StatusUpdate:
        """The next status update of this job, already applied to its state."""
        self.seq += 1
        update = make_update(
            self.task.id,
            status,
            worker=self.worker,
            message=message,
            progress=progress,
            attempt=self.attempt,
            seq=self.seq,
            name=self.task.name,
            error=error,
        )
        self.state.apply(update)
        if status.terminal or status is TaskStatus.RETRYING:
            self.finished = True
        return update

    def cancel(self) -> None:
        """Ask the job to stop: skipped if not started, interrupted if running (async)."""
        self.cancel_requested = True
        if self.timeout is not None and not self.timeout.expired():
            self.timeout.reschedule(asyncio.get_running_loop().time())
