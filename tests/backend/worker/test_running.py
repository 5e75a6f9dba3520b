"""A job's JSON, written without the models, is byte for byte what they write."""

from __future__ import annotations

from backend.protocol import Task, TaskStatus, encode_update, make_update
from backend.state import HISTORY_LEN, TaskState, decode_state, encode_state
from backend.store import SUBMIT_SOURCE
from backend.worker.job import QUEUED_MESSAGE, Job
from backend.worker.running import Running


def _reference(task: Task) -> TaskState:
    """What the submitter records for ``task``, as ``TaskStore.submit`` builds it."""
    state = TaskState.from_task(task)
    pending = make_update(
        task.id,
        TaskStatus.PENDING,
        worker=SUBMIT_SOURCE,
        message=QUEUED_MESSAGE,
        attempt=task.attempt,
        name=task.name,
        progress=0,
    )
    pending.ts = task.created_ts
    pending.time = ""
    state.apply(pending)
    return state


def test_state_and_updates_encode_as_the_models_do() -> None:
    task = Task(name="resize", payload={"size": [1, 2], "note": "café", "none": None})
    job = Job.fresh(b"1-1", b"", task, "w-1")
    reference = _reference(task)
    steps = [
        (TaskStatus.PROCESSING, "start", 0, None),
        (TaskStatus.PROCESSING, "half", 50, None),
        (TaskStatus.RETRYING, "again", None, "RuntimeError: boom"),
        (TaskStatus.FAILED, "gave up", None, "RuntimeError: boom"),
    ]
    for status, message, progress, error in steps:
        change = job.update(status, message, progress=progress, error=error)
        update = change.to_update()
        assert change.json().decode() == encode_update(update)
        reference.apply(update)
        reference.time = job.state.fields["time"]
        assert job.state.json().decode() == encode_state(reference)
    decoded = decode_state(job.state.json())
    assert decoded.status is TaskStatus.FAILED and decoded.error == "RuntimeError: boom"
    assert [h.status for h in decoded.history] == [
        TaskStatus.PENDING,
        TaskStatus.PROCESSING,
        TaskStatus.RETRYING,
        TaskStatus.FAILED,
    ]


def test_a_resumed_state_keeps_its_history_and_bounds_it() -> None:
    stored = _reference(Task(name="noop", attempt=2))
    state = Running.from_state(stored)
    assert state.json().decode() == encode_state(stored)
    for seq in range(1, 2 * HISTORY_LEN):
        status = TaskStatus.PROCESSING if seq % 2 else TaskStatus.RETRYING
        change = state.advance(status, "m", worker="w", attempt=2, seq=seq, name="noop")
        stored.apply(change.to_update())
        assert state.json().decode() == encode_state(stored)
    assert len(state.to_state().history) == HISTORY_LEN
