"""Task state changes made by hand, the way a worker makes them, for tests that record
outcomes without running a worker (:meth:`backend.store.TaskStore.record` takes them).
"""

from __future__ import annotations

from typing import Any

from backend.protocol import StatusUpdate, TaskStatus, make_update
from backend.state import TaskState

Change = tuple[TaskState, StatusUpdate]
"""A state and the update that moved it there, as ``record`` takes them."""


def advance(
    state: TaskState,
    status: TaskStatus,
    *,
    attempt: int | None = None,
    seq: int | None = None,
    **fields: Any,
) -> Change:
    """Move ``state`` to ``status`` by an update of ``attempt`` (default: the state's)
    and ``seq`` (default: the state's next), applied to it; the pair to record.
    ``fields`` (``worker``, ``message``, ``error``, ``name``…) go into the update."""
    update = make_update(
        state.id,
        status,
        attempt=state.attempt if attempt is None else attempt,
        seq=state.seq + 1 if seq is None else seq,
        **fields,
    )
    state.apply(update)
    return state, update
