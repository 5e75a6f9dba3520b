"""The dead-letters view: what could not run, why, and putting it back.

Each entry shows its time, task, worker and reason; selecting one shows the raw
``task_data`` and its payload, which can be edited before requeueing that one.
A selection, or everything, can be requeued or deleted.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.errors import ProtocolError
from backend.protocol import decode_task
from backend.store import DeadLetter
from distritask_gui.console_actions import ConsoleActions
from distritask_gui.tasks_table import stamp, style_table

COLUMNS = ("time", "task", "worker", "reason")


class DeadLettersView(QWidget):
    count_changed = Signal(int)
    """How many dead letters there are (after each load)."""

    def __init__(self, console: ConsoleActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.entries: list[DeadLetter] = []
        self.total = 0
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        style_table(self.table, (150, 290, 120))
        self.table.itemSelectionChanged.connect(self._selected)
        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setPlaceholderText("task_data of the selected entry")
        self.payload = QPlainTextEdit()
        self.payload.setPlaceholderText("payload (JSON) to requeue the selected entry with")
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.count = QLabel()
        self.requeue_one = QPushButton("Requeue with this payload")
        self.requeue_one.clicked.connect(self.requeue_edited)
        self.requeue_button = QPushButton("Requeue selected")
        self.requeue_button.clicked.connect(
            lambda: self.console.requeue_dead(self.selected_entries())
        )
        self.requeue_all = QPushButton("Requeue all")
        self.requeue_all.clicked.connect(self.console.requeue_all_dead)
        self.delete_button = QPushButton("Delete selected")
        self.delete_button.clicked.connect(
            lambda: self.console.delete_dead(self.selected_entries())
        )
        tips: dict[QWidget, str] = {
            self.table: "Dead letters, newest first: select some to requeue or delete",
            self.raw: "The entry's task_data as it was in the stream",
            self.payload: "Edit the payload, then requeue the entry with it",
            self.requeue_one: "Queue the selected entry again with the payload above",
            self.requeue_button: "Queue the selected entries again as they were",
            self.requeue_all: "Queue every dead letter again",
            self.delete_button: "Delete the selected entries for good",
        }
        for control, tip in tips.items():
            control.setToolTip(tip)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Raw task_data"))
        side_layout.addWidget(self.raw, 1)
        side_layout.addWidget(QLabel("Payload"))
        side_layout.addWidget(self.payload, 1)
        side_layout.addWidget(self.problem)
        side_layout.addWidget(self.requeue_one)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(side)
        split.setSizes([800, 400])
        buttons = QHBoxLayout()
        buttons.addWidget(self.count)
        buttons.addStretch(1)
        for button in (self.requeue_button, self.requeue_all, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        console.dead_loaded.connect(self.show_entries)
        console.changed.connect(lambda what: self.reload() if what == "dead" else None)

    def reload(self) -> None:
        self.console.load_dead()

    def show_entries(self, total: int, entries: list[DeadLetter]) -> None:
        chosen = set(self.selected_entries())
        self.total, self.entries = total, entries
        self.table.setRowCount(len(entries))
        for row, letter in enumerate(entries):
            for column, value in enumerate(
                (stamp(letter.ts), letter.task_id or "(unreadable)", letter.worker, letter.error)
            ):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(row, column, item)
            if letter.entry in chosen:
                self.table.selectRow(row)
        shown = f" (newest {len(entries):,} shown)" if total > len(entries) else ""
        self.count.setText(f"{total:,} dead letter{'s' if total != 1 else ''}{shown}")
        self.count_changed.emit(total)

    def selected_entries(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.entries[row].entry for row in rows if row < len(self.entries)]

    def _selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        self.problem.clear()
        self.requeue_one.setEnabled(len(rows) == 1)
        if len(rows) != 1 or rows[0] >= len(self.entries):
            self.raw.clear()
            self.payload.clear()
            return
        letter = self.entries[rows[0]]
        self.raw.setPlainText(letter.task_data)
        try:
            payload = decode_task(letter.task_data).payload
        except ProtocolError as exc:
            self.payload.clear()
            self.requeue_one.setEnabled(False)
            self.problem.setText(f"task_data does not parse ({exc}): delete this entry")
            return
        self.payload.setPlainText(json.dumps(payload, indent=2))

    def requeue_edited(self) -> None:
        entries = self.selected_entries()
        if len(entries) != 1:
            self.problem.setText("Select one entry to requeue it with an edited payload")
            return
        try:
            payload = json.loads(self.payload.toPlainText() or "null")
        except ValueError as exc:
            self.problem.setText(f"The payload is not JSON: {exc}")
            return
        self.problem.clear()
        self.console.requeue_dead(entries, payload)
