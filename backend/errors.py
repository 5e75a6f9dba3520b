"""Distritask's exceptions. Everything we raise on purpose derives from one root::

DistritaskError
├── ConfigError          a setting has a bad value (names the setting and the value)
├── ProtocolError        a message from Redis or a client is not what the protocol says
├── BrokerError          Redis cannot be reached or the embedded server cannot start
│   └── EmbeddedBrokerUnavailable   no embedded server on this platform
└── TaskError            about one task (``task_id`` names it)
    ├── TaskFailed       the task failed (``error`` is the handler's error text)
    ├── TaskCancelled    the task was cancelled
    ├── TaskNotFound     no task has that id
    ├── TaskExists       a submit reused the id of a finished task (``replace``)
    └── TaskConflict     a cancel or retry the task's status does not allow
"""

from __future__ import annotations


class DistritaskError(Exception):
    """Root of every error Distritask raises on purpose."""


class ConfigError(DistritaskError):
    """A setting has a bad value."""

    def __init__(self, setting: str, value: object, reason: str) -> None:
        self.setting = setting
        self.value = value
        self.reason = reason
        super().__init__(f"invalid setting {setting}={value!r}: {reason}")


class ProtocolError(DistritaskError):
    """A message does not follow the wire protocol; ``raw`` is what arrived."""

    def __init__(self, reason: str, raw: bytes | str | None = None) -> None:
        self.reason = reason
        self.raw = raw
        super().__init__(reason)


class BrokerError(DistritaskError):
    """Redis cannot be reached, or the embedded server cannot be started."""


class NotReplicated(BrokerError):
    """A submit queued its tasks, but fewer replicas than ``DISTRITASK_SUBMIT_REPLICAS``
    had them in time: a failover now could lose them (submitting again with the same ids
    is safe)."""

    def __init__(self, replicas: int, wanted: int, within: float) -> None:
        super().__init__(
            f"tasks queued, but only {replicas} of {wanted} replica(s) had them within "
            f"{within:g} s: a failover now could lose them"
        )
        self.replicas, self.wanted = replicas, wanted


class EmbeddedBrokerUnavailable(BrokerError):
    """The embedded server does not exist for this platform: set REDIS_URL."""


class TaskError(DistritaskError):
    """Something about one task; ``task_id`` names it."""

    def __init__(self, task_id: str, message: str) -> None:
        self.task_id = task_id
        super().__init__(message)


class TaskFailed(TaskError):
    """The task failed; ``error`` is the error its handler raised (or why it failed)."""

    def __init__(self, task_id: str, error: str) -> None:
        self.error = error
        super().__init__(task_id, f"task {task_id} failed: {error}")


class TaskCancelled(TaskError):
    """The task was cancelled."""

    def __init__(self, task_id: str, message: str = "") -> None:
        super().__init__(
            task_id, f"task {task_id} was cancelled" + (f": {message}" if message else "")
        )


class TaskNotFound(TaskError, LookupError):
    """No task has this id (or its state is no longer kept)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(task_id, f"no task {task_id!r}")


class TaskExists(TaskError):
    """A submit gave the id of a task that has finished; ``replace=True`` queues it
    again."""

    def __init__(self, task_id: str, more: int = 0) -> None:
        extra = f" (and {more} more)" if more else ""
        super().__init__(
            task_id,
            f"task {task_id!r}{extra} has finished; submit with replace=true to run it again",
        )


class TaskConflict(TaskError):
    """A cancel or retry that the task's status does not allow; the message says why."""
