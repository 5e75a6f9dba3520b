"""Deleted tasks leave the board: their cards go and the footer no longer counts them,
whoever deleted them (this panel's Tasks view, another panel, the manager's API), as
the ``distritask:forgotten`` notices tell every panel; a panel that was away when they
went finds out when it reconnects."""

from __future__ import annotations

from typing import Any

import httpx
import redis
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from backend import keys
from backend.protocol import DEFAULT_TASK, Task, TaskStatus
from backend.store import TaskStore
from distritask_gui.columns import SHOWN
from distritask_gui.console import TASKS
from distritask_gui.window import MainWindow
from tests.changes import advance
from tests.conftest import Spawn, free_port, manager_answers
from tests.gui.conftest import Open, Run, with_store
from tests.gui.test_console import _confirm
from tests.gui.test_panel import QUICK_DEPLOY, QUICK_WORKER, _card_ids, _submit


def _completed(window: MainWindow) -> str:
    return window.footer.totals[TaskStatus.COMPLETED].text()


def _deploy_and_finish(window: MainWindow, qtbot: QtBot, spawn: Spawn, count: int) -> list[str]:
    """``count`` deploy_node tasks queued by the panel as Deploy Node does (0.2 s each),
    run by a real worker; the ids, once the board shows them all completed."""
    for _ in range(count):
        window.bridge.actions.submit(DEFAULT_TASK, QUICK_DEPLOY, 1)
    spawn("worker", "--name", "w-del", *QUICK_WORKER[2:], "--concurrency", str(count))
    qtbot.waitUntil(lambda: len(_card_ids(window, "w-del")) == count, timeout=30_000)
    qtbot.waitUntil(lambda: f"completed <b>{count}</b>" in _completed(window), timeout=30_000)
    return _card_ids(window, "w-del")


def test_a_task_deleted_in_the_tasks_view_leaves_the_board_of_every_panel(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    """The reported bug: delete one finished task of ten in the Tasks view; the board
    (this panel's, and another panel's) drops its card and counts nine completed, and
    its open detail dialog says it was deleted."""
    window = open_panel(redis_url)
    bystander = open_panel(redis_url)
    ids = _deploy_and_finish(window, qtbot, spawn, 10)
    qtbot.waitUntil(lambda: sorted(_card_ids(bystander, "w-del")) == sorted(ids), timeout=10_000)
    window.console.setCurrentIndex(TASKS)
    view = window.console.tasks_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 10, timeout=10_000)
    view.table.selectRow(0)
    [doomed] = view.selected_ids()
    column = window.board.column("w-del")
    assert column is not None
    column.view.setCurrentIndex(column.newest.index(ids.index(doomed)))  # its card
    dialog = window.open_detail(doomed)
    assert dialog is not None and "(deleted)" not in dialog.fields["status"].text()
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    _confirm(qtbot, view, "Delete 1 task selected")
    qtbot.waitUntil(lambda: view.model.rowCount() == 9, timeout=10_000)

    for panel in (window, bystander):
        qtbot.waitUntil(lambda p=panel: doomed not in _card_ids(p, "w-del"), timeout=10_000)
        assert sorted(_card_ids(panel, "w-del")) == sorted(set(ids) - {doomed})
        qtbot.waitUntil(lambda p=panel: "completed <b>9</b>" in _completed(p), timeout=10_000)
        assert panel.tasks.totals()[TaskStatus.COMPLETED] == 9
        assert panel.tasks.state(doomed) is None
        shown = panel.board.column("w-del")
        assert shown is not None and shown.count.text() == "9"
    # the broker's counts, polled every 0.2 s, agree: it stays nine
    qtbot.waitUntil(lambda: window.tasks.totals() == {TaskStatus.COMPLETED: 9}, timeout=5000)
    current = column.view.currentIndex()
    assert not current.isValid() or current.data(window.tasks.IdRole) != doomed
    assert "(deleted)" in dialog.fields["status"].text()
    assert not dialog.retry_button.isEnabled() and not dialog.cancel_button.isEnabled()
    dialog.close()


def test_tasks_deleted_through_the_manager_leave_a_running_panels_board(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    ids = _deploy_and_finish(window, qtbot, spawn, 4)
    port = free_port()
    manager = spawn("manager", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    qtbot.waitUntil(manager_answers(base, manager), timeout=30_000)
    response = httpx.post(base + "/tasks/bulk", json={"action": "delete", "ids": ids[:3]})
    assert response.json() == {"matched": 3, "done": 3}

    qtbot.waitUntil(lambda: _card_ids(window, "w-del") == ids[3:], timeout=10_000)
    qtbot.waitUntil(lambda: "completed <b>1</b>" in _completed(window), timeout=10_000)
    assert window.tasks.rowCount() == 1


def test_a_column_whose_shown_cards_were_deleted_shows_the_next_ones(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    """A panel started late holds a column's top cards only; once those are deleted, it
    reads the board again and shows the column's next cards, not an empty "+10 more"."""
    ids = _submit(redis_url, run_async, *[Task(name="noop") for _ in range(SHOWN + 10)])
    spawn("worker", "--name", "w-del", *QUICK_WORKER)
    with redis.Redis.from_url(redis_url) as sync:
        done = lambda: int(sync.hget(keys.COUNTERS, "completed") or 0) == len(ids)  # noqa: E731
        qtbot.waitUntil(done, timeout=30_000)
    window = open_panel(redis_url)
    qtbot.waitUntil(lambda: len(_card_ids(window, "w-del")) == SHOWN, timeout=10_000)
    column = window.board.column("w-del")
    assert column is not None
    qtbot.waitUntil(lambda: column.count.text() == str(len(ids)), timeout=10_000)
    shown = _card_ids(window, "w-del")

    async def delete(store: TaskStore) -> int:  # as POST /tasks/bulk does
        return (await store.bulk("delete", shown)).done

    assert with_store(redis_url, run_async, delete) == SHOWN
    rest = sorted(set(ids) - set(shown))
    qtbot.waitUntil(lambda: sorted(_card_ids(window, "w-del")) == rest, timeout=10_000)
    qtbot.waitUntil(lambda: "completed <b>10</b>" in _completed(window), timeout=10_000)
    assert column.count.text() == "10" and not column.more.isVisible()


def test_tasks_deleted_while_the_panel_was_away_leave_its_board_when_it_reconnects(
    redis_url: str, broker: Any, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    async def finished(store: TaskStore) -> list[str]:
        states = await store.submit([Task(name="noop") for _ in range(5)])
        await store.record([advance(s, TaskStatus.COMPLETED, worker="w-del") for s in states])
        return [s.id for s in states]

    ids = with_store(redis_url, run_async, finished, ensure_group=True)
    window = open_panel(redis_url)
    qtbot.waitUntil(lambda: sorted(_card_ids(window, "w-del")) == sorted(ids), timeout=10_000)

    async def forget(store: TaskStore) -> int:  # no notice, as trimming to the retention
        return await store.forget(ids[:2])

    assert with_store(redis_url, run_async, forget) == 2
    broker.stop()
    qtbot.waitUntil(lambda: window.header.state == "offline", timeout=10_000)
    broker.start()
    qtbot.waitUntil(lambda: window.header.state == "connected", timeout=20_000)
    qtbot.waitUntil(lambda: sorted(_card_ids(window, "w-del")) == sorted(ids[2:]), timeout=10_000)
    qtbot.waitUntil(lambda: "completed <b>3</b>" in _completed(window), timeout=10_000)
