"""A worker column's header: who the worker is, and Drain / Stop now with a confirmation,
sent to a real worker process that then exits."""

from __future__ import annotations

import subprocess

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from backend import __version__
from distritask_gui.worker_column import WorkerColumn
from distritask_gui.worker_text import span
from tests.conftest import Spawn
from tests.gui.conftest import Open

QUICK_WORKER = ("--concurrency", "3", "--heartbeat-ttl", "1")


def _column(window: object, name: str, qtbot: QtBot) -> WorkerColumn:
    board = window.board  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: board.column(name) is not None and board.column(name).online, timeout=20_000
    )
    column = board.column(name)
    assert column is not None
    return column


def _answer(column: WorkerColumn, qtbot: QtBot, accept: bool) -> None:
    assert column.orders is not None
    box = column.orders.confirmation
    assert box is not None and box.isVisible()
    if accept:
        [button] = [
            b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.AcceptRole
        ]
    else:
        button = box.button(QMessageBox.StandardButton.Cancel)
    button.click()
    qtbot.waitUntil(lambda: column.orders is not None and column.orders.confirmation is None)


def test_the_column_shows_host_pid_version_concurrency_uptime_and_counts(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    worker = spawn("worker", "--name", "w-shown", *QUICK_WORKER)
    column = _column(window, "w-shown", qtbot)
    qtbot.waitUntil(lambda: f"pid {worker.pid}" in column.subtitle.text(), timeout=10_000)
    assert f"v{__version__}" in column.subtitle.text()
    assert "3 slots" in column.subtitle.text()
    stats = column.stats.text()
    assert "up " in stats and "0 done" in stats and "0 failed" in stats
    assert span(42) == "42 s" and span(3 * 3600 + 20 * 60) == "3 h 20 min"


def test_drain_asks_for_confirmation_then_the_worker_exits(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    worker: subprocess.Popen[bytes] = spawn("worker", "--name", "w-drain", *QUICK_WORKER)
    column = _column(window, "w-drain", qtbot)
    assert column.orders is not None and column.orders.drain_action.isEnabled()

    column.orders.drain_action.trigger()
    _answer(column, qtbot, accept=False)  # cancelled: nothing is sent
    assert worker.poll() is None

    column.orders.drain_action.trigger()
    assert "Drain w-drain?" in column.orders.confirmation.text()  # type: ignore[union-attr]
    _answer(column, qtbot, accept=True)
    qtbot.waitUntil(lambda: worker.poll() is not None, timeout=15_000)
    assert worker.returncode == 0
    qtbot.waitUntil(lambda: not column.online, timeout=10_000)
    assert "offline" in column.stats.text()
    assert not column.orders.drain_action.isEnabled()


def test_stop_now_from_the_column_stops_the_worker(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    worker = spawn("worker", "--name", "w-stop", *QUICK_WORKER)
    column = _column(window, "w-stop", qtbot)
    assert column.orders is not None
    column.orders.stop_action.trigger()
    _answer(column, qtbot, accept=True)
    qtbot.waitUntil(lambda: worker.poll() is not None, timeout=15_000)
    assert worker.returncode == 0
