"""The messages only Distritask sends, re-exported by :mod:`backend.protocol` (which
encodes and decodes them): a worker's heartbeat (:class:`WorkerInfo`), an order on the
control channel (:class:`ControlMessage`) and the notice of deleted tasks
(:class:`Forgotten`). The Go services neither send nor read any of them: each has a key
or channel of its own (see :mod:`backend.keys`), never ``task_stream`` or ``task_updates``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WorkerInfo(BaseModel):
    """A worker's heartbeat."""

    model_config = ConfigDict(extra="ignore")

    name: str
    host: str = ""
    pid: int = 0
    concurrency: int = 0
    running: list[str] = Field(default_factory=list)
    """Ids of the tasks it is running now."""
    completed: int = 0
    failed: int = 0
    started: float = 0.0
    seen: float = 0.0
    """Epoch seconds of this heartbeat (of its newest update, for a Go worker)."""
    online: bool = True
    kind: str = "distritask"
    """``"go"`` for a worker known only from its status updates (a Go worker)."""
    heartbeat: bool = True
    """False for a worker that sends none (a Go worker): listed while its updates come."""
    version: str = ""
    """The Distritask version the worker runs (empty: unknown, e.g. an older worker)."""
    draining: bool = False
    """True once it was asked to drain: it takes no new tasks and exits when idle."""


class ControlMessage(BaseModel):
    """A message on the control channel (``keys.CONTROL_CHANNEL``), heard by every
    worker: exactly one of ``{"cancel": task id}``, ``{"drain": worker name}`` (take
    no new tasks, finish the running ones, exit 0) or ``{"stop": worker name}`` (exit
    now; the running tasks are left to be reclaimed by other workers)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cancel: str | None = Field(None, min_length=1)
    drain: str | None = Field(None, min_length=1)
    stop: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> ControlMessage:
        given = [name for name in CONTROL_ORDERS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of {', '.join(CONTROL_ORDERS)} is expected")
        return self

    @property
    def order(self) -> tuple[str, str]:
        """``(what, target)``: e.g. ``("drain", "worker-1")``."""
        for name in CONTROL_ORDERS:
            value = getattr(self, name)
            if value is not None:
                return name, value
        raise AssertionError("validated: one order is set")


class Forgotten(BaseModel):
    """A notice on ``keys.FORGOTTEN_CHANNEL``: these tasks' states were deleted (a user
    deleted them), so a viewer that shows them drops them. A channel of its own: the
    Go services' readers of ``task_updates`` know no such message."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ids: list[str] = Field(min_length=1)


CONTROL_ORDERS = ("cancel", "drain", "stop")
WORKER_ORDERS = ("drain", "stop")
"""The control messages addressed to a worker (by name)."""
