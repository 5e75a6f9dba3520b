"""The task model fed with plain data: no Redis, no window."""

from __future__ import annotations

import json
import time

from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from backend.protocol import StatusUpdate, TaskStatus, decode_update, make_update
from backend.state import TaskState
from backend.store import BoardCounts
from distritask_gui.task_model import MAX_FINISHED, QUEUE, TaskModel, column_of


def _updates(task_id: str, worker: str = "w1") -> list[StatusUpdate]:
    """A task's life: queued, two progress steps, completed (attempt 1)."""
    return [
        make_update(task_id, TaskStatus.PENDING, worker="manager", attempt=1, seq=0, progress=0),
        make_update(task_id, TaskStatus.PROCESSING, worker=worker, attempt=1, seq=1, progress=15),
        make_update(task_id, TaskStatus.PROCESSING, worker=worker, attempt=1, seq=2, progress=65),
        make_update(task_id, TaskStatus.COMPLETED, worker=worker, attempt=1, seq=3, progress=100),
    ]


def _replay(updates: list[StatusUpdate]) -> TaskState:
    state = TaskState.from_update(updates[0])
    for update in updates[1:]:
        state.apply(update)
    return state


def test_snapshot_then_buffered_updates_counts_nothing_twice() -> None:
    model = TaskModel()
    lives = {f"t{i}": _updates(f"t{i}") for i in range(20)}
    # the snapshot was taken after two updates of each task; the buffer holds the
    # overlap (update 2 again) and the rest
    snapshot = [_replay(u[:2]) for u in lives.values()]
    buffered = [u for ups in lives.values() for u in ups[1:]]
    model.feed(snapshot)
    model.feed(buffered)
    model.flush()
    assert model.rowCount() == 20
    assert model.totals()[TaskStatus.COMPLETED] == 20
    assert sum(model.totals().values()) == 20
    watcher = TaskModel()
    watcher.feed(u for ups in lives.values() for u in ups)
    watcher.flush()
    for task_id in lives:
        mine, theirs = model.state(task_id), watcher.state(task_id)
        assert mine is not None and theirs is not None
        assert (mine.status, mine.progress, mine.worker) == (theirs.status, 100, theirs.worker)


def test_an_older_update_does_not_move_a_task_back() -> None:
    model = TaskModel()
    ups = _updates("a")
    model.feed([ups[0], ups[3], ups[1]])
    model.flush()
    state = model.state("a")
    assert state is not None and state.status is TaskStatus.COMPLETED and state.progress == 100


def test_go_format_update_makes_a_card_in_the_workers_column() -> None:
    model = TaskModel()
    go = StatusUpdate.model_validate(
        {
            "id": "go-1",
            "status": "processing",
            "time": "12:00:00",
            "worker": "worker-1",
            "message": "Allocating resources and starting execution",
        }
    )
    model.feed([go])
    model.flush()
    state = model.state("go-1")
    assert state is not None and column_of(state) == "worker-1"
    assert model.index(0).data(TaskModel.ColumnRole) == "worker-1"
    assert model.column_counts("worker-1")[TaskStatus.PROCESSING] == 1


def test_pending_tasks_are_in_the_queue_column() -> None:
    model = TaskModel()
    model.feed([_updates("p")[0]])
    model.flush()
    assert model.index(0).data(TaskModel.ColumnRole) == QUEUE
    assert model.column_counts(QUEUE)[TaskStatus.PENDING] == 1


def test_a_burst_is_applied_as_one_insert_per_frame(qtbot: QtBot) -> None:
    model = TaskModel()
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    for i in range(2000):
        model.feed(_updates(f"b{i}")[:2])
    with qtbot.waitSignal(model.flushed, timeout=2000):
        pass
    assert inserts == [(0, 1999)]
    assert model.totals()[TaskStatus.PROCESSING] == 2000


def test_live_completions_report_latency_but_the_snapshot_does_not() -> None:
    model = TaskModel()
    seen: list[list[float | None]] = []
    model.finished.connect(seen.append)
    model.feed([_replay(_updates("old"))])
    model.flush()
    assert seen == []
    model.feed(_updates("new"))
    model.flush()
    assert len(seen) == 1 and len(seen[0]) == 1
    assert seen[0][0] is not None and 0 <= seen[0][0] < 5


def test_memory_is_bounded_but_totals_keep_counting() -> None:
    model = TaskModel(max_finished=100)
    model.feed(u for i in range(300) for u in _updates(f"f{i}"))
    model.feed([_updates("running")[1]])
    model.flush()
    assert model.rowCount() <= 100 + 10 + 1
    assert model.state("running") is not None  # unfinished tasks are never dropped
    assert model.state("f299") is not None and model.state("f0") is None  # oldest go first
    assert model.totals()[TaskStatus.COMPLETED] == 300
    rows = [model.index(r).data(TaskModel.IdRole) for r in range(model.rowCount())]
    assert all(model.row_of(task_id) == r for r, task_id in enumerate(rows))


def test_forgotten_tasks_leave_the_rows_the_cards_and_every_count() -> None:
    """A deleted task's card goes and it is counted nowhere, now and after the broker's
    next counts; a column that held more than it showed shows the next ones instead."""
    model = TaskModel()
    model.feed(u for i in range(60) for u in _updates(f"t{i:02}"))
    model.feed([_updates("waiting")[0]])
    model.flush()
    cards = model.column_cards("w1")
    shown = [cards.index(r).data(TaskModel.IdRole) for r in range(cards.rowCount())]
    assert shown[:2] == ["t59", "t58"] and cards.hidden() == 10
    flushes: list[bool] = []
    model.flushed.connect(lambda: flushes.append(True))
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    model.feed(_updates("late"))  # fed before the deletion: applied, then dropped too
    model.forget(["t59", "t00", "t01", "late", "never-seen", "t59"])

    assert removed == [(61, 61), (59, 59), (0, 1)]  # "late" came after "waiting" (row 60)
    assert flushes == [True, True]  # the update's batch, then the deletion
    assert model.rowCount() == 58 and not model.holds("t59") and model.state("late") is None
    rows = [model.index(r).data(TaskModel.IdRole) for r in range(model.rowCount())]
    assert all(model.row_of(task_id) == r for r, task_id in enumerate(rows))
    assert model.totals() == {TaskStatus.COMPLETED: 57, TaskStatus.PENDING: 1}
    assert model.column_counts("w1") == {TaskStatus.COMPLETED: 57}
    shown = [cards.index(r).data(TaskModel.IdRole) for r in range(cards.rowCount())]
    assert shown[:2] == ["t58", "t57"] and len(shown) == 50 and cards.total == 57
    assert "t00" not in shown and cards.hidden() == 7

    counts = {TaskStatus.COMPLETED: 57, TaskStatus.PENDING: 1}
    model.feed_counts(BoardCounts(statuses=counts, workers={"w1": 57}))
    model.flush()
    assert model.totals() == counts and cards.total == 57


def test_data_changed_covers_only_changed_rows() -> None:
    model = TaskModel()
    model.feed(_updates(f"d{i}")[0] for i in range(10))
    model.flush()
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    model.feed([_updates("d3")[1], _updates("d4")[1], _updates("d8")[1]])
    model.flush()
    assert changed == [(3, 4), (8, 8)]
    assert model.data(QModelIndex()) is None


def test_a_hundred_thousand_finished_tasks_are_held_up_to_the_bound_and_all_counted(
    qtbot: QtBot,
) -> None:
    model = TaskModel()
    started = time.perf_counter()
    batch = []
    for i in range(110_000):
        state = TaskState(
            id=f"{i:06d}", status=TaskStatus.COMPLETED, worker="w", progress=100, created=float(i)
        )
        batch.append(state)
    model.feed(batch)
    model.flush()
    assert model.rowCount() == MAX_FINISHED  # past the bound (+1 %), the oldest are dropped
    assert model.state("000000") is None and model.state("109999") is not None
    model.feed([TaskState(id="extra", status=TaskStatus.COMPLETED, created=1e9)] * 1)
    model.feed(TaskState(id=f"x{i}", status=TaskStatus.COMPLETED, created=2e9) for i in range(2000))
    model.flush()
    assert model.rowCount() == MAX_FINISHED
    assert model.totals()[TaskStatus.COMPLETED] == 112_001  # the dropped ones still counted
    cards = model.column_cards("w")
    assert cards.total == 110_000 and cards.hidden() == 110_000 - cards.rowCount()
    assert time.perf_counter() - started < 15


def _go(task_id: str, status: str, worker: str, message: str) -> StatusUpdate:
    """An update exactly as a Go service publishes it: no time stamp, attempt, seq or progress."""
    return decode_update(
        json.dumps(
            {
                "id": task_id,
                "status": status,
                "time": "12:00:00",
                "worker": worker,
                "message": message,
            }
        )
    )


def test_a_task_a_go_worker_runs_shows_15_65_100_and_gets_a_latency_from_arrival_times() -> None:
    model = TaskModel()
    seen: list[list[float | None]] = []
    model.finished.connect(seen.append)
    progress = []
    for status, worker, message in (
        ("pending", "manager", "Task queued"),
        ("processing", "worker-1", "Allocating resources and starting execution"),
        ("completed", "worker-1", "Task execution finalized successfully"),
    ):
        model.feed([_go("g1", status, worker, message)])
        model.flush()
        progress.append(model.state("g1").progress)  # type: ignore[union-attr]
    assert progress == [15, 65, 100]  # the original page's convention, shown on the card
    state = model.state("g1")
    assert state is not None and state.status is TaskStatus.COMPLETED
    assert state.started is not None and state.finished is not None
    assert len(seen) == 1 and seen[0][0] is not None and 0 <= seen[0][0] < 5
