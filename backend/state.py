"""A task's current state, built from its status updates.

The one rule every viewer shares (worker, manager, dashboard, panel) lives in
:mod:`backend.transition`: an update is applied unless it is older than what the
state already shows, by ``(attempt, seq)`` and then status rank. So a viewer that
loads a snapshot and then replays live updates it buffered meanwhile ends in the same
state as one that watched from the start, and a duplicate changes nothing. Go
messages carry no order: they belong to the task's current attempt and apply in
arrival order, never moving a task back (completed stays completed).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field

from backend import messages, transition
from backend.errors import ProtocolError
from backend.protocol import DEFAULT_QUEUE, DEFAULT_TASK, StatusUpdate, Task, TaskStatus, clock

DERIVED: set[str] = {"scheduled"}
"""Fields computed from others, never stored."""
HISTORY_LEN = transition.HISTORY_LEN
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
    queue: str = DEFAULT_QUEUE
    """Its named queue (before the payload: the index scripts read the first "queue")."""
    due: float | None = None
    """Epoch seconds a delayed task was due to become runnable."""
    payload: Any = None
    result: Any = None
    """What the handler returned (JSON), once completed."""
    max_retries: int | None = None
    history: list[HistoryEntry] = Field(default_factory=list)

    @classmethod
    def from_task(cls, task: Task) -> TaskState:
        """``task`` as its submitter records it: see :func:`queued`."""
        return queued(task)[0]

    @classmethod
    def from_update(cls, update: StatusUpdate) -> TaskState:
        """A task first seen through ``update`` (created when it happened or arrived)."""
        created = time.time() if update.ts is None else update.ts
        state = cls(id=update.id, name=update.name or DEFAULT_TASK, created=created)
        state.apply(update)
        return state

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scheduled(self) -> bool:
        """A delayed task still waiting for its time: the submitter's ``pending``
        (seq 0) of its first run, with a due time."""
        return self.due is not None and self.seq == 0 and self.status is TaskStatus.PENDING

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
        """Apply ``update`` unless it is older than this state; say whether it was.

        Works on the instance's fields directly (no validated setattrs): this runs for
        every update in every viewer.
        """
        history = self.history
        last = history[-1].status if history else None
        return transition.apply(self.__dict__, update.__dict__, history, last, HistoryEntry)


def queued(
    task: Task, *, by: str = "manager", message: str = messages.QUEUED
) -> tuple[TaskState, StatusUpdate]:
    """A new task's state as its submitter records it (pending, its timeline one row
    long), and the ``pending`` update it publishes. ``by``: the submitter's name."""
    state, update = _queued_fields(task, by=by, message=message)
    return TaskState.model_validate(state), StatusUpdate.model_validate(update)


def _queued_fields(task: Task, *, by: str, message: str) -> tuple[dict[str, Any], dict[str, Any]]:
    created = task.created_ts
    return transition.queued(
        task_id=task.id,
        name=task.name,
        payload=task.payload,
        max_retries=task.max_retries,
        attempt=task.attempt,
        queue=task.queue,
        due=task.due,
        created=created,
        stamp=clock(created),
        by=by,
        message=message,
    )


def requeued(
    state: TaskState, task: Task, *, by: str = "manager", message: str = messages.QUEUED
) -> tuple[TaskState, StatusUpdate]:
    """``state`` queued again as ``task`` (its next attempt): the same state, pending,
    its creation time and timeline kept (the new attempt's rows follow the old)."""
    _, fields = _queued_fields(task, by=by, message=message)
    now = time.time()
    update = StatusUpdate.model_validate({**fields, "ts": now, "time": clock(now)})
    again = state.model_copy(deep=True)
    again.payload = task.payload
    again.max_retries = task.max_retries
    again.queue, again.due = task.queue, task.due
    again.apply(update)
    return again, update


def encode_state(state: TaskState) -> str:
    """The stored JSON (``scheduled`` is derived, so it is left out)."""
    return state.model_dump_json(exclude_none=True, exclude=DERIVED)


def decode_state(raw: bytes | str) -> TaskState:
    try:
        return TaskState.model_validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"bad task state: {exc.errors()[0]['msg']}", raw) from None


def scheduled_for(due: float) -> str:
    """The message of a delayed task's ``pending``: "Scheduled for HH:MM:SS" (local
    time), the date first when it is not today ("Scheduled for 2026-11-30 09:49:02")."""
    day = time.localtime(due)
    if time.strftime("%Y-%m-%d", day) != time.strftime("%Y-%m-%d"):
        return messages.scheduled_for(time.strftime("%Y-%m-%d %H:%M:%S", day))
    return messages.scheduled_for(clock(due))
