"""Each column's cards, kept by the task model: newest first, the rest counted."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from backend.protocol import StatusUpdate, TaskStatus, make_update
from distritask_gui.task_model import QUEUE, TaskModel
from distritask_gui.worker_column import WorkerColumn


def _running(task_id: str, worker: str, seq: int = 1, progress: int = 10) -> StatusUpdate:
    return make_update(
        task_id, TaskStatus.PROCESSING, worker=worker, attempt=1, seq=seq, progress=progress
    )


def _done(task_id: str, worker: str) -> StatusUpdate:
    return make_update(task_id, TaskStatus.COMPLETED, worker=worker, attempt=1, seq=9)


def _shown(column: WorkerColumn) -> list[str]:
    cards = column.newest
    return [cards.index(r).data(TaskModel.IdRole) for r in range(cards.rowCount())]


def test_a_column_keeps_its_newest_cards_and_its_full_count_after_old_tasks_are_dropped(
    qtbot: QtBot,
) -> None:
    tasks = TaskModel(max_finished=100)
    column = WorkerColumn("w1", tasks)
    qtbot.addWidget(column)
    column.newest.limit = 5
    tasks.feed([_running("slow", "w1")])  # the oldest task, still running
    tasks.flush()
    for i in range(300):
        worker = "w1" if i % 3 else "w2"
        tasks.feed([_running(f"t{i:03d}", worker), _done(f"t{i:03d}", worker)])
    tasks.flush()
    column.refresh()
    held = [s.id for s in tasks.states() if s.worker == "w1"]
    assert "slow" in held and "t000" not in held  # the oldest finished were dropped
    assert tasks.rowCount() <= 100 + 10 + 1
    assert _shown(column) == ["t299", "t298", "t296", "t295", "t293"]
    assert column.count.text() == "201"  # the dropped ones still counted
    assert column.more.text() == "+196 more"
    assert tasks.totals()[TaskStatus.COMPLETED] == 300


def test_a_card_that_changes_as_newer_ones_push_it_out_is_dropped_cleanly(
    qtbot: QtBot,
) -> None:
    tasks = TaskModel()
    cards = tasks.column_cards("w1")
    cards.limit = 2
    tasks.feed([_running("a", "w1"), _running("b", "w1")])
    tasks.flush()
    with qtbot.waitSignal(tasks.flushed, timeout=1000):
        tasks.feed([_running("a", "w1", seq=2, progress=60), _running("c", "w1")])
        tasks.feed([_running("d", "w1")])
    assert [cards.index(r).data(TaskModel.IdRole) for r in range(2)] == ["d", "c"]
    assert cards.total == 4 and cards.hidden() == 2


def test_cards_move_between_columns_without_resetting_the_views() -> None:
    tasks = TaskModel()
    queue, worker = tasks.column_cards(QUEUE), tasks.column_cards("w1")
    pending = [
        make_update(f"q{i}", TaskStatus.PENDING, worker="manager", attempt=1, seq=0)
        for i in range(4)
    ]
    tasks.feed(pending)
    tasks.flush()
    resets: list[str] = []
    queue.modelReset.connect(lambda: resets.append("queue"))
    worker.modelReset.connect(lambda: resets.append("w1"))
    tasks.feed([_running("q3", "w1"), _running("q1", "w1")])
    tasks.flush()
    tasks.feed([_running("q0", "w1")])  # older than the cards shown: goes below them
    tasks.flush()
    ids = [worker.index(r).data(TaskModel.IdRole) for r in range(worker.rowCount())]
    assert ids == ["q3", "q1", "q0"]
    assert [queue.index(r).data(TaskModel.IdRole) for r in range(queue.rowCount())] == ["q2"]
    assert resets == []
