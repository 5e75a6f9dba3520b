"""The pending-ownership view: which worker holds which delivered, unacknowledged task.

Per consumer its entries, with idle time and delivery count; an entry idle past the
claim-idle time (a worker that stopped keeping it fresh) is highlighted. A stuck
entry can be moved to another worker (XCLAIM) or released back to the queue.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.store import PendingEntry
from distritask_gui.console_actions import ConsoleActions
from distritask_gui.tasks_table import seconds, style_table

COLUMNS = ("worker", "entry", "task", "name", "idle", "deliveries")
STUCK = QColor("#7f1d1d")
REFRESH_MS = 2000


class PendingView(QWidget):
    def __init__(
        self, console: ConsoleActions, claim_idle: float = 30.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.console = console
        self.claim_idle = claim_idle
        self.entries: list[PendingEntry] = []
        self.consumers: list[dict[str, Any]] = []
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        style_table(self.table, (140, 170, 290, 120, 90))
        self.target = QComboBox()
        self.target.setEditable(True)
        self.target.setMinimumWidth(180)
        self.target.setToolTip("The worker to give the selected entries to")
        self.table.setToolTip("Delivered, unacknowledged entries per worker; red: past claim-idle")
        self.move_button = QPushButton("Move to worker")
        self.move_button.setToolTip("Give the selected entries to the worker named beside")
        self.move_button.clicked.connect(self.move_selected)
        self.release_button = QPushButton("Release to the queue")
        self.release_button.setToolTip(
            "Queue the selected entries again for any worker and acknowledge the old ones"
        )
        self.release_button.clicked.connect(
            lambda: self.console.release_pending(self.selected_entries())
        )
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(f"Highlighted: idle past claim-idle ({claim_idle:g} s)"))
        buttons.addStretch(1)
        buttons.addWidget(self.target)
        buttons.addWidget(self.move_button)
        buttons.addWidget(self.release_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        console.pending_loaded.connect(self.show_pending)
        console.changed.connect(lambda what: self.reload() if what == "pending" else None)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def reload(self) -> None:
        self.console.load_pending()

    def _tick(self) -> None:
        if self.isVisible():
            self.reload()

    def show_pending(self, consumers: list[dict[str, Any]], entries: list[PendingEntry]) -> None:
        chosen = set(self.selected_entries())
        self.consumers, self.entries = consumers, entries
        self.summary.setText(
            "  ·  ".join(
                f"<b>{c['name']}</b>: {c['pending']} pending, idle {seconds(c['idle'])}"
                for c in consumers
            )
            or "No consumers yet"
        )
        current = self.target.currentText()
        self.target.clear()
        self.target.addItems([c["name"] for c in consumers])
        if current:
            self.target.setCurrentText(current)
        self.table.setRowCount(len(entries))
        for row, item in enumerate(entries):
            stuck = item.idle >= self.claim_idle
            values = (
                item.consumer,
                item.entry,
                item.task_id,
                item.name,
                seconds(item.idle),
                str(item.deliveries),
            )
            for column, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if stuck:
                    cell.setBackground(STUCK)
                    cell.setToolTip("idle past claim-idle: its worker stopped keeping it")
                self.table.setItem(row, column, cell)
            if item.entry in chosen:
                self.table.selectRow(row)

    def stuck_rows(self) -> list[int]:
        return [row for row, item in enumerate(self.entries) if item.idle >= self.claim_idle]

    def selected_entries(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.entries[row].entry for row in rows if row < len(self.entries)]

    def move_selected(self) -> None:
        target = self.target.currentText().strip()
        entries = self.selected_entries()
        if target and entries:
            self.console.move_pending(entries, target)
