"""A job's state and status updates as plain data, encoded without the models.

A worker advances every task it runs through two or three status changes, so the
per-change cost matters: this module keeps the state a plain dict (the fields of
:class:`~backend.state.TaskState`, in its order) and each update a plain dict (the
fields of :class:`~backend.protocol.StatusUpdate`), statuses as plain strings, and
encodes them with pydantic-core's ``to_json`` (the serializer the models use, without
their validation; several times faster than ``json.dumps`` here). The bytes are the
ones ``encode_state`` / ``encode_update`` write (pinned by
``tests/backend/worker/test_running.py``), so every reader decodes them as before.
:meth:`Running.advance` applies its update by the one rule of :mod:`backend.transition`,
the one :meth:`TaskState.apply` uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from backend import messages, transition
from backend.protocol import StatusUpdate, Task, TaskStatus, clock
from backend.results import Result
from backend.state import DERIVED, TaskState, _queued_fields


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
    def from_task(
        cls, task: Task, *, pending_by: str = "manager", message: str = messages.QUEUED
    ) -> Running:
        """The state the submitter recorded: the task, pending (its seq 0)."""
        fields, _ = _queued_fields(task, by=pending_by, message=message)
        return cls(fields, fields.pop("history"))

    @classmethod
    def from_state(cls, state: TaskState) -> Running:
        fields = state.model_dump(mode="json", exclude={"history", *DERIVED})
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
        result: Result | None = None,
    ) -> Change:
        """The update stamped now, applied (as ``TaskState.apply`` would).

        ``result``: a ``completed`` update's handler result (stored in the state; the
        update carries it when it is small, ``null`` included)."""
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
        if result is not None and result.inline:
            update["result"] = result.value
        history = self.history
        last = history[-1]["status"] if history else None
        transition.apply(self.fields, update, history, last, dict)
        if result is not None:  # stored even when too large for the update
            self.fields["result"] = result.value
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
