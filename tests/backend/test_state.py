"""Applying updates: any order of snapshot and live updates ends in the same state."""

from __future__ import annotations

import itertools

from backend.protocol import StatusUpdate, Task, TaskStatus, decode_update, make_update
from backend.state import TaskState, decode_state, encode_state, queued, requeued


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


def _go(status: TaskStatus, worker: str = "worker-1") -> StatusUpdate:
    """An update as a Go worker sends it: no attempt, seq, progress or ts."""
    return decode_update(
        f'{{"id":"t","status":"{status.value}","time":"12:00:00",'
        f'"worker":"{worker}","message":"m"}}'
    )


def test_a_go_worker_finishes_a_task_we_queued() -> None:
    state, _ = queued(Task(id="t", name="noop"))
    assert state.order == (1, 0)
    assert state.apply(_go(TaskStatus.PROCESSING))
    assert (state.status, state.progress, state.attempt) == (TaskStatus.PROCESSING, 65, 1)
    assert state.apply(_go(TaskStatus.COMPLETED))
    assert state.status is TaskStatus.COMPLETED and state.progress == 100
    assert state.finished is not None and state.latency is not None
    assert [h.status for h in state.history] == [
        TaskStatus.PENDING,
        TaskStatus.PROCESSING,
        TaskStatus.COMPLETED,
    ]


def test_a_late_go_update_never_moves_a_task_back() -> None:
    state = TaskState.from_update(_go(TaskStatus.PENDING, "manager"))
    assert state.progress == 15 and state.created is not None
    state.apply(_go(TaskStatus.COMPLETED))
    finished = state.finished
    assert not state.apply(_go(TaskStatus.PROCESSING))
    assert not state.apply(_go(TaskStatus.PENDING, "manager"))
    assert state.apply(_go(TaskStatus.COMPLETED))  # a duplicate changes nothing
    assert state.status is TaskStatus.COMPLETED and state.finished == finished


def test_a_snapshot_replayed_after_a_go_completion_stays_completed() -> None:
    state, pending = queued(Task(id="t", name="noop"))
    state.apply(_go(TaskStatus.COMPLETED))
    assert not state.apply(pending)  # the buffered pending of the same attempt
    assert state.status is TaskStatus.COMPLETED


def test_our_next_attempt_follows_a_go_update() -> None:
    state, _ = queued(Task(id="t", name="noop"))
    state.apply(_go(TaskStatus.PROCESSING))
    retry = make_update("t", TaskStatus.PROCESSING, worker="w1", attempt=2, seq=1, progress=0)
    assert state.apply(retry)
    assert (state.order, state.worker) == ((2, 1), "w1")


def test_requeue_keeps_created_and_the_timeline() -> None:
    state, _ = queued(Task(id="t", name="fail", max_retries=0))
    state.apply(make_update("t", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=1))
    state.apply(make_update("t", TaskStatus.FAILED, worker="w1", attempt=1, seq=2, error="x"))
    again, update = requeued(state, Task(id="t", name="fail", max_retries=0, attempt=2))
    assert (again.status, again.attempt, again.seq) == (TaskStatus.PENDING, 2, 0)
    assert again.created == state.created and again.finished is None and again.error is None
    assert [(h.status, h.attempt) for h in again.history] == [
        (TaskStatus.PENDING, 1),
        (TaskStatus.PROCESSING, 1),
        (TaskStatus.FAILED, 1),
        (TaskStatus.PENDING, 2),
    ]
    assert update.attempt == 2 and update.seq == 0
