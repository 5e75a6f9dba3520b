"""One page of tasks as a table model: the Tasks view shows only the page it asked for.

Pages come from Redis through :class:`~distritask_gui.console_actions.ConsoleActions`
(the indexes answer a filter without reading every state), so the panel never holds
all retained tasks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from backend.protocol import TaskStatus
from backend.state import TaskState

COLUMNS = (
    "id",
    "name",
    "queue",
    "status",
    "worker",
    "attempt",
    "created",
    "duration",
    "message",
    "result",
)
STATUS_COLOURS = {
    TaskStatus.PENDING: "#f59e0b",
    TaskStatus.PROCESSING: "#3b82f6",
    TaskStatus.RETRYING: "#a855f7",
    TaskStatus.COMPLETED: "#22c55e",
    TaskStatus.FAILED: "#ef4444",
    TaskStatus.CANCELLED: "#a1a1aa",
}
Index = QModelIndex | QPersistentModelIndex


def stamp(ts: float | None) -> str:
    """A local time: ``HH:MM:SS`` today, with the date otherwise."""
    if ts is None:
        return ""
    today = time.strftime("%Y-%m-%d")
    day = time.strftime("%Y-%m-%d", time.localtime(ts))
    clock = time.strftime("%H:%M:%S", time.localtime(ts))
    return clock if day == today else f"{day} {clock}"


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def cell(state: TaskState, column: str) -> str:
    """The text of one cell."""
    if column == "id":
        return state.id
    if column == "status":
        return state.status.value
    if column == "queue":
        return str(getattr(state, "queue", None) or "default")
    if column == "attempt":
        return str(state.attempt)
    if column == "created":
        return stamp(state.created)
    if column == "duration":
        return seconds(state.latency)
    if column == "message":
        return state.error or state.message if state.status is TaskStatus.FAILED else state.message
    if column == "result":
        result = getattr(state, "result", None)
        return "" if result is None else json.dumps(result)[:200]
    return str(getattr(state, column, "") or "")


class TasksTable(QAbstractTableModel):
    """The tasks of one page, in the order the store gave them."""

    IdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._states: list[TaskState] = []

    def set_states(self, states: list[TaskState]) -> None:
        self.beginResetModel()
        self._states = list(states)
        self.endResetModel()

    def states(self) -> list[TaskState]:
        return list(self._states)

    def state(self, row: int) -> TaskState | None:
        return self._states[row] if 0 <= row < len(self._states) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._states)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        state = self.state(index.row())
        if state is None:
            return None
        column = COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return cell(state, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == "status":
            return QColor(STATUS_COLOURS.get(state.status, "#e4e4e7"))
        if role == self.IdRole:
            return state.id
        return None


def table_view(model: TasksTable) -> QTableView:
    """The Tasks view's table."""
    table = QTableView()
    table.setModel(model)
    style_table(table, (250, 110, 80, 90, 110, 72, 130, 80, 280))
    return table


def style_table(table: QTableView, widths: Sequence[int]) -> None:
    """How every console table looks and selects: whole rows (several at once), read
    only, no grid, alternating rows, headings over their (left-aligned) values, the last
    column stretched, these first widths."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(26)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setDefaultAlignment(
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    )
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
