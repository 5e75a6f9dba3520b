"""A task's status, and the int codes the Go services carry it as (``status`` in a
queued task's JSON): :class:`TaskStatus`, re-exported by :mod:`backend.protocol`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def go_code(self) -> int:
        """The int the Go ``task.Status`` field carries."""
        return _GO_CODES[self]


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
_GO_CODES = {
    TaskStatus.PENDING: 0,
    TaskStatus.PROCESSING: 1,
    TaskStatus.COMPLETED: 2,
    TaskStatus.FAILED: 3,
    TaskStatus.RETRYING: 1,
    TaskStatus.CANCELLED: 3,
}
_FROM_GO_CODE = {
    0: TaskStatus.PENDING,
    1: TaskStatus.PROCESSING,
    2: TaskStatus.COMPLETED,
    3: TaskStatus.FAILED,
}


def _status_from_wire(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("status must be a string or an int")
    if isinstance(value, int):
        try:
            return _FROM_GO_CODE[value]
        except KeyError:
            raise ValueError(f"unknown status code {value}") from None
    if isinstance(value, str):
        return value.lower()
    return value
