"""Applying updates: any order of snapshot and live updates ends in the same state."""

from __future__ import annotations

import itertools

from backend.protocol import Task, TaskStatus, make_update
from backend.state import TaskState, decode_state, encode_state


def _updates() -> list:
    return [
        make_update("t", TaskStatus.PENDING, worker="manager", attempt=1, seq=0),
        make_update("t", TaskStatus.PROCESSING, worker="w1", progress=10, attempt=1, seq=1),
        make_update("t", TaskStatus.PROCESSING, worker="w1", progress=60, attempt=1, seq=2),
        make_update("t", TaskStatus.COMPLETED, worker="w1", attempt=1, seq=3),
    ]


def test_any_arrival_order_ends_completed() -> None:
    for order in itertools.permutations(_updates()):
        state = TaskState(id="t")
        for update in order:
            state.apply(update)
        assert state.status is TaskStatus.COMPLETED
        assert state.progress == 100


def test_replaying_updates_changes_nothing() -> None:
    state = TaskState(id="t")
    for update in _updates():
        state.apply(update)
    before = state.model_copy(deep=True)
    assert not state.apply(_updates()[1])
    assert state == before


def test_go_updates_apply_in_arrival_order() -> None:
    state = TaskState(id="t", attempt=0)
    state.apply(make_update("t", TaskStatus.PROCESSING, worker="worker-1"))
    state.apply(make_update("t", TaskStatus.COMPLETED, worker="worker-1"))
    assert state.status is TaskStatus.COMPLETED and state.worker == "worker-1"


def test_state_round_trips_with_timeline() -> None:
    state = TaskState.from_task(Task(name="noop", payload={"a": 1}))
    for update in _updates():
        state.apply(update)
    again = decode_state(encode_state(state))
    assert again == state
    assert [h.status for h in again.history] == [
        TaskStatus.PENDING,
        TaskStatus.PROCESSING,
        TaskStatus.COMPLETED,
    ]
    assert again.latency is not None
