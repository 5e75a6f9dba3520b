"""The console views, driven like a user would, against the real embedded server."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from backend import keys
from backend.protocol import Task, TaskStatus, decode_task, encode_task
from backend.store import TaskStore
from distritask_gui.console import DEAD, PENDING, TASKS
from distritask_gui.tasks_view import TasksView
from distritask_gui.window import MainWindow
from tests.changes import advance
from tests.gui.conftest import Open, Run, with_store


def _seed(url: str, run_async: Run[Any]) -> dict[str, list[str]]:
    """Six tasks: resize ones (two failed with a timeout, one completed), encode ones pending."""

    async def work(store: TaskStore) -> dict[str, list[str]]:
        tasks = [Task(name="resize") for _ in range(3)] + [Task(name="encode") for _ in range(3)]
        states = await store.submit(tasks)
        ends = zip(states[:3], ["failed", "failed", "completed"], strict=True)
        changes = [
            advance(
                state,
                TaskStatus(end),
                worker="w1",
                message="gave up: timeout" if end == "failed" else "done",
                error="TimeoutError" if end == "failed" else None,
            )
            for state, end in ends
        ]
        await store.record(changes)
        return {
            "failed": [s.id for s in states[:2]],
            "completed": [states[2].id],
            "pending": [s.id for s in states[3:]],
        }

    result: dict[str, list[str]] = with_store(url, run_async, work, ensure_group=True)
    return result


def _open_tasks(
    redis_url: str, open_panel: Open, run_async: Run[Any]
) -> tuple[dict[str, list[str]], MainWindow, TasksView]:
    """The six tasks of :func:`_seed`, and the panel opened on its Tasks view."""
    ids = _seed(redis_url, run_async)
    window = open_panel(redis_url)
    window.console.setCurrentIndex(TASKS)
    return ids, window, window.console.tasks_view


def _shown_ids(window: MainWindow) -> list[str]:
    return [s.id for s in window.console.tasks_view.model.states()]


def _confirm(qtbot: QtBot, view: Any, expect: str) -> None:
    qtbot.waitUntil(lambda: view.bulk.confirm_box is not None, timeout=10_000)
    assert expect in view.bulk.confirm_box.text()
    view.bulk.confirm_box.button(QMessageBox.StandardButton.Yes).click()


def test_tasks_view_filters_by_widgets_and_text_then_retries_the_selection(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    ids, window, view = _open_tasks(redis_url, open_panel, run_async)
    qtbot.waitUntil(lambda: len(_shown_ids(window)) == 6, timeout=10_000)
    assert "1 to 6 of 6" in view.count.text()

    view.status.setCurrentText("failed")
    qtbot.waitUntil(lambda: sorted(_shown_ids(window)) == sorted(ids["failed"]), timeout=10_000)
    assert view.filter_text.text() == "status:failed"

    view.filter_text.setText("name:encode")
    qtbot.keyClick(view.filter_text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sorted(_shown_ids(window)) == sorted(ids["pending"]), timeout=10_000)
    assert view.status.currentText() == "any status" and view.name.text() == "encode"

    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(view.search.hasFocus, timeout=5000)
    view.name.clear()
    qtbot.keyClicks(view.search, "TIMEOUT")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sorted(_shown_ids(window)) == sorted(ids["failed"]), timeout=10_000)

    view.table.selectAll()
    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)
    _confirm(qtbot, view, "Retry 2 tasks selected")

    async def statuses(store: TaskStore) -> set[TaskStatus]:
        return {s.status for s in await store.get_many(ids["failed"])}

    qtbot.waitUntil(
        lambda: (
            with_store(redis_url, run_async, statuses, ensure_group=True) == {TaskStatus.PENDING}
        ),
        timeout=15_000,
    )
    view.set_filter(view.current_filter().with_(q=None, status="failed"))
    qtbot.waitUntil(lambda: _shown_ids(window) == [], timeout=10_000)


def test_bulk_on_everything_matching_confirms_the_count_and_a_row_opens_its_detail(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    ids, window, view = _open_tasks(redis_url, open_panel, run_async)
    view.status.setCurrentText("pending")
    qtbot.waitUntil(lambda: len(_shown_ids(window)) == 3, timeout=10_000)

    view.act_on_filter("cancel", view.current_filter())
    _confirm(qtbot, view, "Cancel 3 tasks matching status:pending")
    qtbot.waitUntil(lambda: _shown_ids(window) == [], timeout=15_000)
    view.status.setCurrentText("cancelled")
    qtbot.waitUntil(lambda: sorted(_shown_ids(window)) == sorted(ids["pending"]), timeout=10_000)

    index = view.model.index(0, 0)
    rect = view.table.visualRect(index)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    opened = _shown_ids(window)[0]
    qtbot.waitUntil(lambda: opened in window.details, timeout=10_000)


def test_a_dead_letter_is_requeued_with_an_edited_payload_and_the_header_counts(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    task = Task(name="resize", payload={"width": 0})

    async def bury(store: TaskStore) -> None:
        await store.dead_letter(task.id, encode_task(task), "ValueError: width 0", "w-dead")
        await store.dead_letter("", "{broken", "cannot parse task_data", "w-dead")

    with_store(redis_url, run_async, bury, ensure_group=True)
    window = open_panel(redis_url)
    window.console.setCurrentIndex(DEAD)
    view = window.console.dead_view
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=10_000)
    assert "2 dead letters" in window.header.dead.text()
    assert window.console.tabText(DEAD) == "Dead letters (2)"
    assert view.table.item(1, 3).text() == "ValueError: width 0"

    view.table.selectRow(1)
    assert '"width": 0' in view.payload.toPlainText()
    assert task.id in view.raw.toPlainText()
    view.payload.setPlainText('{"width": 640}')
    qtbot.mouseClick(view.requeue_one, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=10_000)

    async def queued(store: TaskStore) -> list[Task]:
        entries = await store.redis.xrange(keys.TASK_STREAM)
        return [decode_task(fields[keys.TASK_FIELD.encode()]) for _, fields in entries]

    [again] = with_store(redis_url, run_async, queued, ensure_group=True)
    assert again.id == task.id and again.payload == {"width": 640}
    qtbot.waitUntil(lambda: "1 dead letter" in window.header.dead.text(), timeout=10_000)

    view.table.selectRow(0)
    assert "does not parse" in view.problem.text() and not view.requeue_one.isEnabled()
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.table.rowCount() == 0, timeout=10_000)
    qtbot.waitUntil(lambda: window.header.dead.text() == "", timeout=10_000)


def test_a_stuck_pending_entry_is_highlighted_moved_and_released(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    tasks = [Task(name="noop"), Task(name="noop")]

    async def hold(store: TaskStore) -> None:
        await store.submit(tasks)
        await store.read_first("ghost", ["default"], 10, 0)

    with_store(redis_url, run_async, hold, ensure_group=True)
    window = open_panel(redis_url)
    view = window.console.pending_view
    view.claim_idle = 0.0
    window.console.setCurrentIndex(PENDING)
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=10_000)
    assert view.stuck_rows() == [0, 1]
    assert "ghost" in view.summary.text()
    assert [view.table.item(r, 2).text() for r in range(2)] == [t.id for t in tasks]

    view.table.selectRow(0)
    view.target.setCurrentText("rescuer")
    qtbot.mouseClick(view.move_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: {e.consumer for e in view.entries} == {"ghost", "rescuer"}, timeout=10_000
    )

    ghost_row = next(r for r, e in enumerate(view.entries) if e.consumer == "ghost")
    view.table.selectRow(ghost_row)
    qtbot.mouseClick(view.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [e.consumer for e in view.entries] == ["rescuer"], timeout=10_000)

    assert view.entries[0].task_id == tasks[0].id

    async def waiting(store: TaskStore) -> list[str]:
        entries = await store.read_first("newcomer", ["default"], 10, 0)
        return [decode_task(fields[keys.TASK_FIELD.encode()]).id for _, fields in entries if fields]

    assert with_store(redis_url, run_async, waiting, ensure_group=True) == [tasks[1].id]


def test_retry_all_failed_and_purge_finished_from_their_buttons(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    ids, window, view = _open_tasks(redis_url, open_panel, run_async)
    qtbot.waitUntil(lambda: len(_shown_ids(window)) == 6, timeout=10_000)

    qtbot.mouseClick(view.retry_failed, Qt.MouseButton.LeftButton)
    _confirm(qtbot, view, "Retry 2 tasks matching status:failed")
    qtbot.waitUntil(
        lambda: (
            view.bulk.progress is None and "Retry: 2 of 2" in window.statusBar().currentMessage()
        ),
        timeout=15_000,
    )

    dialog = view.ask_purge()
    dialog.setIntValue(0)
    dialog.accept()
    _confirm(qtbot, view, "Delete 6 tasks matching until:")
    qtbot.waitUntil(
        lambda: sorted(_shown_ids(window)) == sorted(ids["failed"] + ids["pending"]), timeout=15_000
    )
    assert "Delete: 1 of 6" in window.statusBar().currentMessage()
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 0))
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _shown_ids(window)[0] in window.details, timeout=10_000)
