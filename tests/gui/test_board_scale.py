"""A board that scales (issue 13 item 6): the Queue column lists its oldest task first,
since that one runs next, and a column's "+K more" opens the Tasks view filtered to it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from backend.protocol import Task, TaskStatus, make_update
from backend.state import TaskState
from distritask_gui.task_model import QUEUE, TaskModel
from distritask_gui.window import MainWindow
from distritask_gui.worker_column import WorkerColumn
from tests.conftest import Spawn
from tests.gui.conftest import Open, Run
from tests.gui.test_panel import QUICK_WORKER, _card_ids, _submit


def _shown(column: WorkerColumn) -> list[str]:
    cards = column.newest
    return [cards.index(r).data(TaskModel.IdRole) for r in range(cards.rowCount())]


def _tasks_view_ids(window: MainWindow) -> list[str]:
    table = window.console.tasks_view.model
    return [state.id for row in range(table.rowCount()) if (state := table.state(row))]


def test_the_queue_lists_its_oldest_task_first_and_moves_up_as_tasks_start(
    qtbot: QtBot,
) -> None:
    tasks = TaskModel()
    queue = WorkerColumn(QUEUE, tasks)
    worker = WorkerColumn("w1", tasks)
    qtbot.addWidget(queue)
    qtbot.addWidget(worker)
    queue.newest.limit = worker.newest.limit = 5
    tasks.feed(TaskState(id=f"q{i:02d}", created=100.0 + i) for i in range(12))
    tasks.flush()
    queue.refresh()
    assert _shown(queue) == ["q00", "q01", "q02", "q03", "q04"]
    assert queue.more.isVisibleTo(queue) and queue.more.text() == "+7 more"
    resets: list[bool] = []
    queue.newest.modelReset.connect(lambda: resets.append(True))
    tasks.feed(
        make_update(f"q{i:02d}", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=1)
        for i in range(3)
    )
    tasks.flush()
    queue.refresh()
    worker.refresh()
    assert _shown(queue) == ["q03", "q04", "q05", "q06", "q07"]  # the next ones move up
    assert queue.more.text() == "+4 more" and resets == []
    assert _shown(worker) == ["q02", "q01", "q00"]  # a worker's: newest first
    assert not worker.more.isVisibleTo(worker)
    tasks.feed([TaskState(id="late", created=999.0)])  # a new arrival waits at the end
    tasks.flush()
    queue.refresh()
    assert _shown(queue)[0] == "q03" and "late" not in _shown(queue)
    assert queue.more.text() == "+5 more"


def test_more_opens_the_tasks_view_filtered_to_the_queue_then_to_a_worker(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    waiting = _submit(redis_url, run_async, *[Task(name="noop") for _ in range(60)])
    window = open_panel(redis_url)
    queue = window.board.columns[QUEUE]
    qtbot.waitUntil(lambda: queue.count.text() == "60", timeout=10_000)
    shown = _card_ids(window, QUEUE)
    assert shown == waiting[: queue.newest.limit]  # the one that runs next is on top
    assert queue.more.isVisible() and queue.more.text() == f"+{60 - len(shown)} more"
    assert queue.more.toolTip()

    qtbot.mouseClick(queue.more, Qt.MouseButton.LeftButton)
    view = window.console.tasks_view
    assert window.console.currentWidget() is view
    assert view.filter_text.text() == "status:pending sort:created"
    assert view.status.currentText() == "pending"
    qtbot.waitUntil(lambda: _tasks_view_ids(window) == waiting, timeout=10_000)
    assert view.total == 60  # the same tasks, in the same order, none left out

    window.console.setCurrentIndex(0)  # back to the live board; a worker runs them all
    spawn("worker", "--name", "w-scale", *QUICK_WORKER)
    qtbot.waitUntil(lambda: window.board.column("w-scale") is not None, timeout=15_000)
    column = window.board.columns["w-scale"]
    qtbot.waitUntil(lambda: column.count.text() == "60", timeout=30_000)
    qtbot.waitUntil(lambda: queue.count.text() == "0", timeout=10_000)
    assert not queue.more.isVisible() and column.more.isVisible()
    assert _card_ids(window, "w-scale")[0] == waiting[-1]  # a worker's: newest first

    qtbot.mouseClick(column.more, Qt.MouseButton.LeftButton)
    assert window.console.currentWidget() is view
    assert view.filter_text.text() == "worker:w-scale"
    qtbot.waitUntil(lambda: sorted(_tasks_view_ids(window)) == sorted(waiting), timeout=10_000)
    assert view.total == 60
