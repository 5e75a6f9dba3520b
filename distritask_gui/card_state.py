"""A recorded task state read for its card: the snapshot the panel loads skips the
timeline and payload.

A finished task's card shows neither (the detail dialog loads the full record from
the broker when opened), and reading them is most of the cost of decoding a record:
a 100,000-task snapshot decodes about three times faster without them.
:class:`CardState` is a :class:`~backend.state.TaskState` whose ``history`` and
``payload`` are not read from the JSON (their keys are ignored like unknown ones); it
starts with an empty timeline and applies later updates like any state.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from backend.errors import ProtocolError
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
