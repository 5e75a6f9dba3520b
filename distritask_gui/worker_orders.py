"""A worker column's orders: "Drain…" and "Stop now…", each asked for confirmation.

The menu shows from the column's "⋯" button and from a right click on its header.
Confirming emits ``requested(order, worker name)``; the window passes it to the
bridge's actions (widgets never await). The confirmation is a non-blocking message
box (:attr:`WorkerOrders.confirmation` while it is open).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

QUESTIONS = {
    "drain": (
        "Drain worker",
        "Drain {name}?\n\nIt takes no new tasks, finishes the ones it is running, then exits.",
        "Drain",
    ),
    "stop": (
        "Stop worker now",
        "Stop {name} now?\n\nIt exits at once; the tasks it is running are taken over "
        "by other workers after the claim-idle time.",
        "Stop now",
    ),
}


class WorkerOrders(QObject):
    requested = Signal(str, str)
    """``(order, worker name)`` once the user confirmed."""

    def __init__(self, name: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.name = name
        self._parent = parent
        self.menu = QMenu(parent)
        self.drain_action = QAction("Drain…", self.menu)
        self.drain_action.setToolTip("Take no new tasks, finish the running ones, exit")
        self.drain_action.triggered.connect(lambda: self.ask("drain"))
        self.stop_action = QAction("Stop now…", self.menu)
        self.stop_action.setToolTip("Exit at once; other workers take over its tasks")
        self.stop_action.triggered.connect(lambda: self.ask("stop"))
        self.menu.addAction(self.drain_action)
        self.menu.addAction(self.stop_action)
        self.menu.setToolTipsVisible(True)
        self.confirmation: QMessageBox | None = None

    def set_available(self, available: bool) -> None:
        """Orders only reach a worker that is online and listens (has a heartbeat)."""
        self.drain_action.setEnabled(available)
        self.stop_action.setEnabled(available)

    def show_menu(self, at: QPoint) -> None:
        self.menu.popup(at)

    def ask(self, order: str) -> QMessageBox:
        """Open the confirmation for ``order``; ``requested`` is emitted if accepted."""
        title, text, button = QUESTIONS[order]
        box = QMessageBox(
            QMessageBox.Icon.Question, title, text.format(name=self.name), parent=self._parent
        )
        confirm = box.addButton(button, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered() -> None:
            if box.clickedButton() is confirm:
                self.requested.emit(order, self.name)
            self.confirmation = None
            box.deleteLater()

        box.finished.connect(answered)
        self.confirmation = box
        box.open()
        return box
