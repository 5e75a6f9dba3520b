"""The operations console beside the live board: tabs for the board (the home view),
Tasks, Dead letters and Pending.

It owns one :class:`~distritask_gui.console_actions.ConsoleActions` on the bridge's
store, builds the three console views on it, reloads a view when its tab is shown and
keeps the dead-letter count fresh (shown in its tab title and, through
:attr:`dead_count`, in the header).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from backend.store import TaskStore
from backend.task_filter import TaskFilter
from distritask_gui.console_actions import ConsoleActions
from distritask_gui.dead_letters_view import DeadLettersView
from distritask_gui.pending_view import PendingView
from distritask_gui.tasks_view import TasksView

DEAD_POLL_MS = 5000
BOARD, TASKS, DEAD, PENDING = range(4)


class ConsoleTabs(QTabWidget):
    dead_count = Signal(int)

    def __init__(
        self,
        board: QWidget,
        store: Callable[[], TaskStore | None],
        *,
        claim_idle: float = 30.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("consoleTabs")
        self.setDocumentMode(True)
        self.console = ConsoleActions(store, self)
        self.tasks_view = TasksView(self.console)
        self.dead_view = DeadLettersView(self.console)
        self.pending_view = PendingView(self.console, claim_idle)
        self.addTab(board, "Live board")
        self.addTab(self.tasks_view, "Tasks")
        self.addTab(self.dead_view, "Dead letters")
        self.addTab(self.pending_view, "Pending")
        self.setTabToolTip(TASKS, "Every retained task: filter, search, act in bulk")
        self.setTabToolTip(DEAD, "Tasks that could not run: requeue or delete")
        self.setTabToolTip(PENDING, "Delivered, unacknowledged entries per worker")
        self.currentChanged.connect(self._shown)
        self.dead_view.count_changed.connect(self._dead_counted)
        self.timer = QTimer(self, interval=DEAD_POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        QTimer.singleShot(1000, self.poll)  # the header's count soon after opening

    def show_tasks(self, wanted: TaskFilter) -> None:
        """Open the Tasks tab listing what ``wanted`` matches (a column's "+K more")."""
        self.tasks_view.set_filter(wanted)
        self.setCurrentWidget(self.tasks_view)

    def _shown(self, index: int) -> None:
        view = self.widget(index)
        if view is self.tasks_view:
            self.tasks_view.reload()
        elif view is self.dead_view:
            self.dead_view.reload()
        elif view is self.pending_view:
            self.pending_view.reload()

    def poll(self) -> None:
        """Reload the dead letters (their count shows in the header and the tab)."""
        self.dead_view.reload()

    def _dead_counted(self, total: int) -> None:
        self.setTabText(DEAD, f"Dead letters ({total:,})" if total else "Dead letters")
        self.dead_count.emit(total)
