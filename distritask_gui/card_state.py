"""A recorded task state read for its card: the snapshot the panel loads skips the
timeline and payload.

A finished task's card shows neither (the detail dialog loads the full record from
the broker when opened), and reading them is most of the cost of decoding a record:
a 100,000-task snapshot decodes about three times faster without them.
:class:`CardState` is a :class:`~backend.state.TaskState` whose ``history`` and
``payload`` are not read from the JSON (their keys are ignored like unknown ones); it
starts with an empty timeline and applies later updates like any state.

:func:`compact` drops the same from a finished task the model holds, and
:func:`stamp_arrival` gives a task whose updates carry no time (a Go worker's) its
arrival times.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field, ValidationError

from backend.errors import ProtocolError
from backend.protocol import TaskStatus
from backend.state import HistoryEntry, TaskState

_NOT_READ = "-not-read-"


class CardState(TaskState):
    """A task state without its recorded timeline and payload."""

    history: list[HistoryEntry] = Field(default_factory=list, validation_alias=_NOT_READ + "h")
    payload: Any = Field(None, validation_alias=_NOT_READ + "p")


def decode_card(raw: bytes | str) -> TaskState:
    """A recorded state for a card; raises :class:`ProtocolError` on a bad record."""
    try:
        return CardState.model_validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"bad task state: {exc.errors()[0]['msg']}", raw) from None


def compact(state: TaskState) -> TaskState:
    """Drop what only the detail dialog shows (it loads the full record) from a
    finished task: a third of the memory, so 100,000 of them fit in ~150 MB."""
    if state.status.terminal and (state.history or state.payload is not None):
        state.history = []
        state.payload = None
    return state


def stamp_arrival(state: TaskState) -> None:
    """An update without a time (a Go worker's): take its arrival as when the task
    started or finished, so its card and the footer's latency have one."""
    now = time.time()
    if state.status is TaskStatus.PROCESSING and state.started is None:
        state.started = now
    elif state.status.terminal and state.finished is None:
        state.finished = now
    if state.created is None:
        state.created = now
