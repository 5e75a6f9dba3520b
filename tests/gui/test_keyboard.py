"""The panel by keyboard and at its smallest size, with the real window fed plain data."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from backend.protocol import TaskStatus
from backend.state import TaskState
from distritask_gui.bridge import Bridge
from distritask_gui.settings_dialog import SettingsDialog
from distritask_gui.submit_dialog import SubmitDialog
from distritask_gui.task_model import QUEUE
from distritask_gui.window import MainWindow


def _window(qtbot: QtBot) -> MainWindow:
    window = MainWindow(Bridge("redis://127.0.0.1:1"))  # never started: fed by hand
    qtbot.addWidget(window)
    states = [TaskState(id=f"q{i}", created=float(i)) for i in range(3)]
    states += [
        TaskState(id=f"{w}-{i}", status=TaskStatus.PROCESSING, worker=w, created=10.0 + i)
        for w in ("w1", "w2")
        for i in range(2)
    ]
    window.tasks.feed(states)
    window.tasks.flush()
    window.resize(1300, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def _current(window: MainWindow) -> tuple[str, str] | None:
    focused = QApplication.focusWidget()
    for key, column in window.board.columns.items():
        if column.view is focused:
            return key, column.view.currentIndex().data(window.tasks.IdRole)
    return None


def test_arrow_keys_move_between_cards_and_columns_enter_opens_esc_closes(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    window = _window(qtbot)
    queue = window.board.columns[QUEUE].view
    queue.setFocus()
    qtbot.waitUntil(lambda: _current(window) == (QUEUE, "q0"))  # oldest first: runs next
    qtbot.keyClick(queue, Qt.Key.Key_Down)
    assert _current(window) == (QUEUE, "q1")
    qtbot.keyClick(queue, Qt.Key.Key_Right)
    assert _current(window) == ("w1", "w1-0")  # same height, clamped to its cards
    qtbot.keyClick(window.board.columns["w1"].view, Qt.Key.Key_Right)
    assert _current(window) == ("w2", "w2-0")
    qtbot.keyClick(window.board.columns["w2"].view, Qt.Key.Key_Up)
    assert _current(window) == ("w2", "w2-1")
    qtbot.keyClick(window.board.columns["w2"].view, Qt.Key.Key_Left)
    assert _current(window) == ("w1", "w1-1")
    qtbot.keyClick(window.board.columns["w1"].view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "w1-1" in window.details)
    dialog = window.details["w1-1"]
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: "w1-1" not in window.details)


def test_the_window_is_usable_at_900_by_600(qtbot: QtBot) -> None:
    window = _window(qtbot)
    hint = window.minimumSizeHint()
    assert hint.width() <= 900 and hint.height() <= 600, hint
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() == 900 and window.height() == 600)
    header = window.header
    for control in (header.advanced, header.deploy_many, header.deploy, header.menu_button):
        left = control.mapTo(window, QPoint(0, 0)).x()
        assert control.isVisible() and left >= 0 and left + control.width() <= 900
        assert control.width() >= control.minimumSizeHint().width()  # not squeezed
    # the board scrolls: the first column is whole, the footer's chart is there
    queue = window.board.columns[QUEUE]
    assert queue.width() >= queue.minimumWidth() and queue.view.height() > 100
    assert window.footer.chart.width() >= 150


def _controls(widget: QWidget) -> list[QWidget]:
    kinds = (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QLineEdit,
        QPlainTextEdit,
        QAbstractSpinBox,
    )
    return [
        w for w in widget.findChildren(QWidget) if isinstance(w, kinds) and w.isVisibleTo(widget)
    ]


def test_every_control_has_a_tooltip(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    window = _window(qtbot)
    dialog = window.open_detail("q0")
    assert dialog is not None
    submit, settings = SubmitDialog(window), SettingsDialog("redis://x:6379", window)
    about = window.open_about()
    for top in (window, dialog, submit, settings, about):
        top.show()
        bare = [
            f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()}"
            for w in _controls(top)
            if not w.toolTip()
            and not isinstance(w.parent(), (QComboBox, QAbstractSpinBox, QAbstractItemView))
        ]
        assert not bare, (top.windowTitle(), bare)
    for view in (window.console.tasks_view, window.console.dead_view, window.console.pending_view):
        bare = [
            f"{type(w).__name__} {getattr(w, 'text', lambda: '')()}"
            for w in _controls(view)
            if not w.toolTip()
            and not isinstance(w.parent(), (QComboBox, QAbstractSpinBox, QAbstractItemView))
        ]
        assert not bare, (type(view).__name__, bare)
    for top in (dialog, submit, settings, about):  # not left open for the next test
        top.close()


def test_the_window_title_names_the_app_once(qtbot: QtBot) -> None:
    window = _window(qtbot)
    assert window.windowTitle().count("Distritask") <= 1
    assert "Cluster Control" in window.windowTitle()
