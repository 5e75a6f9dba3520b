"""The client applications program against: queue tasks, wait for their results.

- :class:`Client` for asyncio, :class:`BlockingClient` (same methods) for scripts
  and WSGI apps; both are context managers, built from a URL or the settings.
- :class:`TaskFailed` / :class:`TaskCancelled`: what :meth:`Client.result` raises.
- :func:`task`: the handler decorator, so one import serves both sides.

Parts: :mod:`~backend.client.aio` (the client), :mod:`~backend.client.blocking`,
:mod:`~backend.client.waiting` (one subscription wakes every ``result()``),
:mod:`~backend.client.submitting`.
"""

from __future__ import annotations

from backend.client.aio import Client
from backend.client.blocking import BlockingClient
from backend.errors import (
    TaskCancelled,
    TaskConflict,
    TaskError,
    TaskExists,
    TaskFailed,
    TaskNotFound,
)
from backend.handlers import TaskContext, task
from backend.protocol import TaskStatus
from backend.state import TaskState

__all__ = [
    "BlockingClient",
    "Client",
    "TaskCancelled",
    "TaskConflict",
    "TaskContext",
    "TaskError",
    "TaskExists",
    "TaskFailed",
    "TaskNotFound",
    "TaskState",
    "TaskStatus",
    "task",
]
