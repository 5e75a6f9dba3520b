"""What a flush publishes: progress superseded within the batch is left out."""

from __future__ import annotations

from backend.protocol import Task, TaskStatus
from backend.worker.executor import retry_delay
from backend.worker.job import Job
from backend.worker.outbox import coalesce


def test_coalesce_keeps_each_tasks_latest_and_every_outcome() -> None:
    quick = Job.fresh(b"1-1", b"", Task(name="noop"), "w")
    slow = Job.fresh(b"1-2", b"", Task(name="sleep"), "w")
    changes = [
        (quick.state, quick.update(TaskStatus.PROCESSING, "start", progress=0)),
        (slow.state, slow.update(TaskStatus.PROCESSING, "start", progress=0)),
        (quick.state, quick.update(TaskStatus.COMPLETED, "done", progress=100)),
        (slow.state, slow.update(TaskStatus.PROCESSING, "half", progress=50)),
    ]
    kept = [(c.task_id, c.message) for _, c in coalesce(changes)]
    assert kept == [(quick.task_id, "done"), (slow.task_id, "half")]
    assert [h.status for h in quick.state.to_state().history][-2:] == [
        TaskStatus.PROCESSING,
        TaskStatus.COMPLETED,
    ]


def test_retry_delays_double_from_the_base() -> None:
    assert [retry_delay(0.5, n) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert retry_delay(1.0, 50) == 600.0
