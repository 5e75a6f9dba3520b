"""A task's current state, built from its status updates.

The one rule every viewer shares (worker, manager, dashboard, panel): an update is
applied unless it is older than what the state already shows, by ``(attempt, seq)``.
So a viewer that loads a snapshot and then replays live updates it buffered meanwhile
ends in the same state as one that watched from the start, and a duplicate changes
nothing. Go messages carry no order (``(0, 0)``) and simply apply in arrival order.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.errors import ProtocolError
from backend.protocol import DEFAULT_TASK, StatusUpdate, Task, TaskStatus

_PROGRESS_BY_STATUS = {TaskStatus.PENDING: 0, TaskStatus.COMPLETED: 100}
HISTORY_LEN = 20
"""Status changes a state keeps (the first one and the newest)."""


class HistoryEntry(BaseModel):
    """One status change in a task's timeline."""

    status: TaskStatus
    ts: float | None = None
    worker: str = ""
    message: str = ""
    attempt: int = 0


class TaskState(BaseModel):
    """What is known of one task now."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str = DEFAULT_TASK
    status: TaskStatus = TaskStatus.PENDING
    worker: str = ""
    message: str = ""
    time: str = ""
    progress: int = 0
    attempt: int = 0
    seq: int = 0
    created: float | None = None
    updated: float | None = None
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    payload: Any = None
    max_retries: int | None = None
    history: list[HistoryEntry] = Field(default_factory=list)

    @classmethod
    def from_task(cls, task: Task) -> TaskState:
        return cls(
            id=task.id,
            name=task.name,
            created=task.created_ts,
            updated=task.created_ts,
            payload=task.payload,
            max_retries=task.max_retries,
            attempt=task.attempt,
        )

    @classmethod
    def from_update(cls, update: StatusUpdate) -> TaskState:
        state = cls(id=update.id, name=update.name or DEFAULT_TASK, created=update.ts, attempt=-1)
        state.apply(update)
        return state

    @property
    def order(self) -> tuple[int, int]:
        return (self.attempt, self.seq)

    @property
    def latency(self) -> float | None:
        """Seconds from submission to a terminal state, when both are known."""
        if self.finished is None or self.created is None:
            return None
        return max(0.0, self.finished - self.created)

    def apply(self, update: StatusUpdate) -> bool:
        """Apply ``update`` unless it is older than this state; say whether it was."""
        if update.order < self.order:
            return False
        self.status = update.status
        self.attempt, self.seq = update.order
        self.worker = update.worker
        self.message = update.message
        self.time = update.time
        if update.name:
            self.name = update.name
        if update.progress is not None:
            self.progress = update.progress
        elif update.status in _PROGRESS_BY_STATUS:
            self.progress = _PROGRESS_BY_STATUS[update.status]
        if update.ts is not None:
            self.updated = update.ts
            if update.status is TaskStatus.PROCESSING and self.started is None:
                self.started = update.ts
            if update.status.terminal:
                self.finished = update.ts
        if update.status is TaskStatus.PENDING:
            self.started = self.finished = None
        self.error = (
            update.error if update.status in (TaskStatus.FAILED, TaskStatus.RETRYING) else None
        )
        if not self.history or self.history[-1].status is not update.status:
            self.history.append(
                HistoryEntry(
                    status=update.status,
                    ts=update.ts,
                    worker=update.worker,
                    message=update.message,
                    attempt=update.attempt,
                )
            )
            if len(self.history) > HISTORY_LEN:
                del self.history[1]
        return True


def encode_state(state: TaskState) -> str:
    return state.model_dump_json(exclude_none=True)


def decode_state(raw: bytes | str) -> TaskState:
    try:
        return TaskState.model_validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"bad task state: {exc.errors()[0]['msg']}", raw) from None
