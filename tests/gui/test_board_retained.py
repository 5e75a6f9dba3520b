"""The board on many retained states (issue 13 item 10): it loads only what it shows
(each column's top cards and the running tasks) and counts the rest from the broker's
indexes; the older tasks are reached through "+K more" in the Tasks view.
"""

from __future__ import annotations

import asyncio
from typing import Any

from distritask_bench.panel import write_snapshot
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from backend.protocol import Task, TaskStatus
from backend.state import TaskState
from backend.store import BoardCounts, TaskStore
from distritask_gui.columns import SHOWN
from distritask_gui.task_model import QUEUE
from distritask_gui.tasks_view import PAGE_SIZE
from distritask_gui.window import MainWindow
from tests.changes import advance
from tests.gui.conftest import Open, Run, with_store

RETAINED = 20_000
WORKERS = [f"bench-w{i}" for i in range(1, 5)]


def _counts(url: str, run_async: Run[Any]) -> BoardCounts:
    async def counts(store: TaskStore) -> BoardCounts:
        return (await store.board()).counts

    return with_store(url, run_async, counts)


def _write(url: str, qtbot: QtBot, count: int) -> None:
    """``count`` states through the workers' write script (so indexed), as the bench does."""
    task = asyncio.ensure_future(write_snapshot(url, count))
    qtbot.waitUntil(task.done, timeout=120_000)  # a loaded machine: give it time
    task.result()


def _shown(window: MainWindow, key: str) -> list[TaskState]:
    cards = window.board.columns[key].newest
    return [cards.index(r).data(window.tasks.StateRole) for r in range(cards.rowCount())]


def test_many_retained_states_load_only_the_board_and_count_the_rest(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    _write(redis_url, qtbot, RETAINED)
    counts = _counts(redis_url, run_async)
    assert sum(counts.statuses.values()) == RETAINED
    window = open_panel(redis_url)
    footer = window.footer.totals
    qtbot.waitUntil(lambda: sum(window.tasks.totals().values()) == RETAINED, timeout=20_000)
    # every retained task counted, by status, in the footer ...
    for status, count in counts.statuses.items():
        assert window.tasks.totals()[status] == count
        if status in footer:
            assert f"{count:,}" in footer[status].text()
    # ... while the board holds only its columns' top cards and the running tasks
    running = counts.statuses[TaskStatus.PROCESSING]
    assert window.tasks.rowCount() <= SHOWN * (len(WORKERS) + 2) + running
    qtbot.waitUntil(lambda: all(w in window.board.columns for w in WORKERS), timeout=10_000)
    for worker in WORKERS:
        column = window.board.columns[worker]
        shown = _shown(window, worker)
        assert len(shown) == SHOWN and all(s.worker == worker for s in shown)
        created = [s.created or 0 for s in shown]
        assert created == sorted(created, reverse=True)  # its newest, newest first
        assert column.count.text() == str(counts.workers[worker])
        # its figures count every task it ran, not only the cards held
        failed = counts.ended[worker][TaskStatus.FAILED]
        busy = sum(1 for s in shown if s.status is TaskStatus.PROCESSING)
        done = counts.workers[worker] - failed - busy
        assert f"{busy} busy · {done} done · {failed} failed" in column.stats.text()
        assert column.more.text() == f"+{counts.workers[worker] - SHOWN:,} more"
    queue = window.board.columns[QUEUE]
    waiting = counts.statuses[TaskStatus.PENDING]
    assert queue.count.text() == str(waiting) and f"{waiting} waiting" in queue.stats.text()
    oldest = [s.created or 0 for s in _shown(window, QUEUE)]
    assert len(oldest) == SHOWN and oldest == sorted(oldest)  # the queue's oldest first

    # the oldest task of a worker, far below its cards, is one click away
    worker = WORKERS[1]
    column = window.board.columns[worker]
    qtbot.mouseClick(column.more, Qt.MouseButton.LeftButton)
    view = window.console.tasks_view
    assert window.console.currentWidget() is view
    qtbot.waitUntil(lambda: view.total == counts.workers[worker], timeout=10_000)
    view.sort.setCurrentIndex(view.sort.findData("created"))
    qtbot.waitUntil(
        lambda: (
            (first := view.model.state(0)) is not None
            and first.worker == worker
            and not window.tasks.holds(first.id)
        ),
        timeout=10_000,
    )


def test_the_queue_column_refills_from_the_broker_as_its_oldest_tasks_start(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    async def submit(store: TaskStore) -> list[str]:
        await store.ensure_group()
        states = await store.submit([Task(name="noop") for _ in range(3 * SHOWN)])
        return [state.id for state in states]

    waiting = with_store(redis_url, run_async, submit)
    window = open_panel(redis_url)
    queue = window.board.columns[QUEUE]
    qtbot.waitUntil(lambda: queue.count.text() == str(3 * SHOWN), timeout=10_000)
    assert [s.id for s in _shown(window, QUEUE)] == waiting[:SHOWN]
    assert not any(window.tasks.holds(task_id) for task_id in waiting[SHOWN:])

    async def run_oldest(store: TaskStore) -> None:
        states = await store.get_many(waiting[:SHOWN])
        await store.record(
            [advance(s, TaskStatus.COMPLETED, worker="w-old", attempt=1) for s in states]
        )

    with_store(redis_url, run_async, run_oldest)
    # the next oldest move up, read from the broker (the board did not hold them)
    qtbot.waitUntil(
        lambda: [s.id for s in _shown(window, QUEUE)] == waiting[SHOWN : 2 * SHOWN],
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: queue.count.text() == str(2 * SHOWN), timeout=10_000)
    assert queue.more.text() == f"+{SHOWN} more"
    assert window.tasks.totals() == {TaskStatus.PENDING: 2 * SHOWN, TaskStatus.COMPLETED: SHOWN}


def test_a_free_text_search_shows_its_first_page_then_counts_the_rest_with_progress(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    _write(redis_url, qtbot, 4000)  # about one in twenty failed with "boom"
    failed = _counts(redis_url, run_async).statuses[TaskStatus.FAILED]
    assert failed > PAGE_SIZE
    window = open_panel(redis_url)
    window.console.setCurrentIndex(1)
    view = window.console.tasks_view
    view.console.search_chunk = 300  # many steps over 4,000 states
    steps: list[tuple[int, int, bool]] = []
    view.console.search_progress.connect(
        lambda _, p: steps.append((p.searched, p.matches, view.searching.isVisible()))
    )
    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(view.search, "BOOM")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    # the first page at once, though more match than it shows ...
    qtbot.waitUntil(lambda: view.model.rowCount() == PAGE_SIZE, timeout=10_000)
    assert all("boom" in (s.message or "") for s in view.model.states())
    # ... then every match counted in the background, with the progress shown
    qtbot.waitUntil(lambda: view.count.text() == f"1 to 100 of {failed}", timeout=20_000)
    assert not view.searching.isVisible() and view.next.isEnabled()
    searched = [searched for searched, _, _ in steps]
    assert len(steps) > 5 and searched == sorted(searched)
    assert all(visible for _, _, visible in steps[:-1])  # the bar showed while it searched
    assert steps[-1][1] == failed
    view.reload()  # the view's refresh: the same search keeps its count
    qtbot.waitUntil(lambda: view.count.text() == f"1 to 100 of {failed}", timeout=10_000)
    assert not view.searching.isVisible()
