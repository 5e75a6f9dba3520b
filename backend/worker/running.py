"""A job's state and status updates as plain data, encoded without the models.

A worker advances every task it runs through two or three status changes, so the
per-change cost matters: this module keeps the state a plain dict (the fields of
:class:`~backend.state.TaskState`, in its order) and each update a plain dict (the
fields of :class:`~backend.protocol.StatusUpdate`), statuses as plain strings, and
encodes them with pydantic-core's ``to_json`` (the serializer the models use, without
their validation; several times faster than ``json.dumps`` here). The bytes are the
ones ``encode_state`` / ``encode_update`` write (pinned by
``tests/backend/worker/test_running.py``), so every reader decodes them as before.
:meth:`Running.advance` follows :meth:`TaskState.apply` for an update newer than the
state, which a job's own updates always are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from backend.protocol import StatusUpdate, Task, TaskStatus, clock
from backend.state import HISTORY_LEN, TaskState

_KEEPS_ERROR = frozenset({TaskStatus.FAILED, TaskStatus.RETRYING})
_PROGRESS_BY_STATUS = {TaskStatus.PENDING: 0, TaskStatus.COMPLETED: 100}
_FIELDS = tuple(TaskState.model_fields)


@dataclass(slots=True)
class Change:
    """One status update of a job: what the outbox needs, and its wire fields."""

    task_id: str
    status: TaskStatus
    fields: dict[str, Any]
    """``StatusUpdate`` fields in wire order, ``None`` values left out."""

    @property
    def message(self) -> str:
        return str(self.fields["message"])

    def json(self) -> bytes:
        """The JSON ``encode_update`` writes for the same update."""
        return to_json(self.fields)

    def to_update(self) -> StatusUpdate:
        return StatusUpdate.model_validate(self.fields)


class Running:
    """A task's state as its worker advances it (see :class:`TaskState` for fields)."""

    __slots__ = ("fields", "history")

    def __init__(self, fields: dict[str, Any], history: list[dict[str, Any]]) -> None:
        self.fields = fields
        self.history = history

    @classmethod
    def from_task(cls, task: Task, *, pending_by: str, message: str) -> Running:
        """The state the submitter recorded: the task, pending (its seq 0)."""
        created = task.created_ts
        fields = dict.fromkeys(_FIELDS)
        fields.update(
            id=task.id,
            name=task.name,
            status=TaskStatus.PENDING.value,
            worker=pending_by,
            message=message,
            time=clock(created),
            progress=0,
            attempt=task.attempt,
            seq=0,
            created=created,
            updated=created,
            payload=task.payload,
            max_retries=task.max_retries,
        )
        entry = {
            "status": TaskStatus.PENDING.value,
            "ts": created,
            "worker": pending_by,
            "message": message,
            "attempt": task.attempt,
        }
        return cls(fields, [entry])

    @classmethod
    def from_state(cls, state: TaskState) -> Running:
        fields = state.model_dump(mode="json", exclude={"history"})
        return cls(fields, [entry.model_dump(mode="json") for entry in state.history])

    @property
    def task_id(self) -> str:
        return str(self.fields["id"])

    @property
    def status(self) -> TaskStatus:
        return TaskStatus(self.fields["status"])

    @property
    def attempt(self) -> int:
        return int(self.fields["attempt"])

    def advance(
        self,
        status: TaskStatus,
        message: str,
        *,
        worker: str,
        attempt: int,
        seq: int,
        name: str,
        progress: int | None = None,
        error: str | None = None,
    ) -> Change:
        """The update stamped now, applied (as ``TaskState.apply`` would)."""
        now = time.time()
        stamp = clock(now)
        task_id = self.fields["id"]
        value = status.value
        update: dict[str, Any] = {
            "id": task_id,
            "status": value,
            "time": stamp,
            "worker": worker,
            "message": message,
        }
        if progress is not None:
            update["progress"] = progress
        update["ts"] = now
        update["attempt"] = attempt
        update["seq"] = seq
        if name:
            update["name"] = name
        if error is not None:
            update["error"] = error
        fields = self.fields
        fields["status"] = value
        fields["attempt"] = attempt
        fields["seq"] = seq
        fields["worker"] = worker
        fields["message"] = message
        fields["time"] = stamp
        fields["error"] = error if status in _KEEPS_ERROR else None
        if name:
            fields["name"] = name
        if progress is not None:
            fields["progress"] = progress
        elif status in _PROGRESS_BY_STATUS:
            fields["progress"] = _PROGRESS_BY_STATUS[status]
        fields["updated"] = now
        if status is TaskStatus.PROCESSING and fields["started"] is None:
            fields["started"] = now
        if status.terminal:
            fields["finished"] = now
        history = self.history
        if not history or history[-1]["status"] != value:
            history.append(
                {
                    "status": value,
                    "ts": now,
                    "worker": worker,
                    "message": message,
                    "attempt": attempt,
                }
            )
            if len(history) > HISTORY_LEN:
                del history[1]
        return Change(task_id, status, update)

    def json(self) -> bytes:
        """The JSON ``encode_state`` writes for the same state."""
        out = {key: value for key, value in self.fields.items() if value is not None}
        out["history"] = [
            {key: value for key, value in entry.items() if value is not None}
            if entry["ts"] is None
            else entry
            for entry in self.history
        ]
        return to_json(out)

    def to_state(self) -> TaskState:
        return TaskState.model_validate_json(self.json())
