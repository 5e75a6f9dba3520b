"""The messages that cross Redis, and the one place they are encoded and decoded.

Wire-compatible with the original Go services (see ``keys`` for the names):

* a queued task is the JSON of :class:`Task` in the stream entry field ``task_data``;
  Go writes ``payload`` as base64 (a ``[]byte``) or ``null`` and ``status`` as an int,
  and reads them back the same way, so that is what :func:`encode_task` writes;
* a status update is the JSON of :class:`StatusUpdate` on the ``task_updates``
  channel: ``{"id","status","time","worker","message"}`` plus our optional extras
  (``progress``, ``ts``, ``attempt``, ``seq``, ``name``, ``error``), which Go ignores;
* ours only, defined in :mod:`backend.own_messages` and re-exported here: a heartbeat
  (:class:`WorkerInfo`), a control message (:class:`ControlMessage`) and the notice of
  deleted tasks (:class:`Forgotten`, on ``distritask:forgotten``: ``task_updates``
  never carries a message Go does not know).

Readers ignore fields they do not know and accept messages without the extras.
Anything that does not parse raises :class:`~backend.errors.ProtocolError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from backend.errors import ProtocolError
from backend.own_messages import CONTROL_ORDERS as CONTROL_ORDERS
from backend.own_messages import WORKER_ORDERS as WORKER_ORDERS
from backend.own_messages import ControlMessage as ControlMessage
from backend.own_messages import Forgotten as Forgotten
from backend.own_messages import WorkerInfo as WorkerInfo
from backend.task_json import Clock as Clock
from backend.task_json import clock, new_task_id, wire_payload
from backend.task_json import new_task_ids as new_task_ids
from backend.task_json import new_task_json as new_task_json
from backend.task_status import TERMINAL as TERMINAL
from backend.task_status import TaskStatus, _status_from_wire

M = TypeVar("M", bound=BaseModel)
_WIRE = "wire"
"""Validation context key: the data comes from the stream (payload may be base64)."""

DEFAULT_TASK = "deploy_node"
DEFAULT_QUEUE = "default"
"""The queue a task without one goes to: the Go services' ``task_stream``."""
SUBMITTER = "manager"
"""The ``worker`` a pending update names, as the Go manager's does (no worker's name)."""
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""A queue name: letters, digits, ``_``, ``.``, ``-``; at most 64 characters."""
GO_DEFAULT_TASK = "ExampleTask"
"""The name the Go manager gives every task; our workers run it as ``deploy_node``."""


class Task(BaseModel):
    """A queued task, as the stream entry field ``task_data`` holds it."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_task_id, min_length=1, max_length=200)
    name: str = Field(DEFAULT_TASK, min_length=1, max_length=200)
    payload: Any = None
    status: TaskStatus = TaskStatus.PENDING
    retries: int = Field(0, ge=0)
    max_retries: int = Field(3, ge=0, le=100)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # -- extras, ignored by Go --
    timeout: float | None = Field(None, gt=0)
    """Per-task override of the worker's ``--task-timeout``, in seconds."""
    attempt: int = Field(1, ge=1)
    """Which run this entry starts; bumped by retries and manual re-queues."""
    queue: str = Field(
        DEFAULT_QUEUE, pattern=QUEUE_PATTERN, exclude_if=lambda q: q == DEFAULT_QUEUE
    )
    """The named queue it runs from (left out of the JSON for ``default``)."""
    due: float | None = Field(None, ge=0, exclude_if=lambda due: due is None)
    """Epoch seconds when a delayed task becomes runnable (``None``: at once)."""

    @field_validator("status", mode="before")
    @classmethod
    def _status_in(cls, value: Any) -> Any:
        return _status_from_wire(value)

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_in(cls, value: Any, info: ValidationInfo) -> Any:
        # On the wire (decode_task), Go's []byte arrives as base64; anything else is
        # taken as the JSON it is. A task built in Python keeps its payload as given
        # (a string payload like "ping" is also valid base64).
        if not isinstance(value, str) or not (info.context or {}).get(_WIRE):
            return value
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")

    @field_serializer("payload")
    def _payload_out(self, payload: Any) -> str | None:
        return wire_payload(payload)

    @field_serializer("status")
    def _status_out(self, status: TaskStatus) -> int:
        return status.go_code

    @property
    def handler_name(self) -> str:
        """The handler to run: the Go manager's ``ExampleTask`` is our ``deploy_node``."""
        return DEFAULT_TASK if self.name == GO_DEFAULT_TASK else self.name

    @property
    def created_ts(self) -> float:
        return self.created_at.timestamp()


class StatusUpdate(BaseModel):
    """One status change, as published on the ``task_updates`` channel."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    status: TaskStatus
    time: str = ""
    worker: str = ""
    message: str = ""
    # -- extras, absent from Go messages --
    progress: int | None = Field(None, ge=0, le=100)
    ts: float | None = None
    """Epoch seconds when the change happened."""
    attempt: int = 0
    seq: int = 0
    """Order within an attempt; ``(attempt, seq)`` orders a task's updates."""
    name: str | None = None
    error: str | None = None
    due: float | None = None
    """Epoch seconds a delayed task is due (its ``pending`` says "Scheduled for …")."""
    scheduled: bool | None = None
    """``True`` on a delayed task's ``pending``: waiting for its time, not yet queued."""
    result: Any = None
    """A ``completed`` update's handler result (left out when large: the state has it)."""

    @field_validator("status", mode="before")
    @classmethod
    def _status_in(cls, value: Any) -> Any:
        return _status_from_wire(value)

    @property
    def order(self) -> tuple[int, int]:
        return (self.attempt, self.seq)


def make_update(
    task_id: str,
    status: TaskStatus,
    *,
    worker: str,
    message: str = "",
    progress: int | None = None,
    attempt: int = 0,
    seq: int = 0,
    name: str | None = None,
    error: str | None = None,
) -> StatusUpdate:
    """A status update stamped with the current time."""
    now = time.time()
    return StatusUpdate(
        id=task_id,
        status=status,
        time=clock(now),
        worker=worker,
        message=message,
        progress=progress,
        ts=now,
        attempt=attempt,
        seq=seq,
        name=name,
        error=error,
    )


# -- the one place messages are encoded and decoded ---------------------------------


def encode_task(task: Task) -> str:
    return task.model_dump_json()


def decode_task(raw: bytes | str) -> Task:
    return _decode(Task, raw, "task", context={_WIRE: True})


def encode_update(update: StatusUpdate) -> str:
    return update.model_dump_json(exclude_none=True)


def decode_update(raw: bytes | str) -> StatusUpdate:
    return _decode(StatusUpdate, raw, "status update")


def encode_worker(info: WorkerInfo) -> str:
    return info.model_dump_json()


def decode_worker(raw: bytes | str) -> WorkerInfo:
    return _decode(WorkerInfo, raw, "worker heartbeat")


def encode_control(message: ControlMessage) -> str:
    return message.model_dump_json(exclude_none=True)


def decode_control(raw: bytes | str) -> ControlMessage:
    return _decode(ControlMessage, raw, "control message")


def encode_forgotten(notice: Forgotten) -> str:
    return notice.model_dump_json()


def decode_forgotten(raw: bytes | str) -> Forgotten:
    return _decode(Forgotten, raw, "forgotten notice")


def _decode(
    model: type[M], raw: bytes | str, what: str, context: dict[str, Any] | None = None
) -> M:
    try:
        return model.model_validate_json(raw, context=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise ProtocolError(f"bad {what}: {where}: {first['msg']}", raw) from None
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"bad {what}: {exc}", raw) from None
