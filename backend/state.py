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
_KEEPS_ERROR = frozenset({TaskStatus.FAILED, TaskStatus.RETRYING})
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
        status = update.status
        # One write to the instance dict instead of a dozen validated setattrs: this
        # runs for every update in every worker and viewer.
        changes: dict[str, Any] = {
            "status": status,
            "attempt": update.attempt,
            "seq": update.seq,
            "worker": update.worker,
            "message": update.message,
            "time": update.time,
            "error": update.error if status in _KEEPS_ERROR else None,
        }
        if update.name:
            changes["name"] = update.name
        if update.progress is not None:
            changes["progress"] = update.progress
        elif status in _PROGRESS_BY_STATUS:
            changes["progress"] = _PROGRESS_BY_STATUS[status]
        if update.ts is not None:
            changes["updated"] = update.ts
            if status is TaskStatus.PROCESSING and self.started is None:
                changes["started"] = update.ts
            if status.terminal:
                changes["finished"] = update.ts
        if status is TaskStatus.PENDING:
            changes["started"] = changes["finished"] = None
        self.__dict__.update(changes)
        history = self.history
        if not history or history[-1].status is not status:
            history.append(
                HistoryEntry(
                    status=status,
                    ts=update.ts,
                    worker=update.worker,
                    message=update.message,
                    attempt=update.attempt,
                )
            )
            if len(history) > HISTORY_LEN:
                del history[1]
        return True


def encode_state(state: TaskState) -> str:
    return state.model_dump_json(exclude_none=True)


def decode_state(raw: bytes | str) -> TaskState:
    try:
        return TaskState.model_validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"bad task state: {exc.errors()[0]['msg']}", raw) from None
