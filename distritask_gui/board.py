"""The row of columns: the queue first, then one column per worker, side by side.

Columns follow the worker model: one is added when a worker row appears, and its
header follows the row's changes. Every column refreshes its counts after each batch
the task model applies.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QWidget

from backend.store import QueueInfo
from distritask_gui import theme
from distritask_gui.task_model import QUEUE, TaskModel
from distritask_gui.worker_column import CLAIM_IDLE, WorkerColumn
from distritask_gui.worker_model import WorkerModel


class Board(QScrollArea):
    """Scrollable columns; ``task_clicked`` carries a task id."""

    task_clicked = Signal(str)
    order_requested = Signal(str, str)
    """``(order, worker name)``: the user confirmed "drain" or "stop" on a column."""
    more_requested = Signal(str)
    """A column's key: its "+K more" was clicked (show its tasks in the Tasks view)."""

    def __init__(
        self,
        tasks: TaskModel,
        workers: WorkerModel,
        parent: QWidget | None = None,
        *,
        claim_idle: float = CLAIM_IDLE,
    ) -> None:
        super().__init__(parent)
        self.claim_idle = claim_idle
        self.tasks = tasks
        self.workers = workers
        self.setObjectName("board")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        inner = theme.named(QWidget(), "boardInner")
        self._row = QHBoxLayout(inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(12)
        self._row.addStretch(0)
        self.setWidget(inner)
        self.columns: dict[str, WorkerColumn] = {}
        self._broker_up = True
        self._reading = 0
        self._add(QUEUE, 0)
        for row, entry in enumerate(workers.entries()):
            self._add(entry.name, row + 1).set_entry(entry)
        workers.rowsInserted.connect(self._workers_inserted)
        workers.dataChanged.connect(self._workers_changed)
        workers.rowsInserted.connect(self._count_consumers)
        workers.dataChanged.connect(self._count_consumers)
        tasks.flushed.connect(self.refresh)
        tasks.columns_seen.connect(workers.ensure)

    def column(self, key: str) -> WorkerColumn | None:
        return self.columns.get(key)

    def ordered(self) -> list[WorkerColumn]:
        """The columns as shown, left to right."""
        items = (self._row.itemAt(i) for i in range(self._row.count()))
        return [w for item in items if isinstance(w := item and item.widget(), WorkerColumn)]

    def step(self, column: WorkerColumn, step: int) -> None:
        """Move the keyboard focus from ``column`` to the next column (in direction
        ``step``) that has cards, to the card at the same height."""
        ordered = self.ordered()
        row = column.view.currentIndex().row()
        index = ordered.index(column) + step
        while 0 <= index < len(ordered):
            target = ordered[index]
            count = target.newest.rowCount()
            if count:
                target.view.setFocus(Qt.FocusReason.OtherFocusReason)
                target.view.setCurrentIndex(target.newest.index(max(0, min(row, count - 1))))
                self.ensureWidgetVisible(target)
                return
            index += step

    def set_broker_up(self, up: bool) -> None:
        """While the broker is gone nothing is known of any column: every dot is grey."""
        self._broker_up = up
        for column in self.columns.values():
            column.set_broker_up(up)

    def refresh(self) -> None:
        for column in self.columns.values():
            column.refresh()

    def _add(self, key: str, position: int) -> WorkerColumn:
        column = WorkerColumn(key, self.tasks, self.widget(), claim_idle=self.claim_idle)
        column.set_broker_up(self._broker_up)
        column.task_clicked.connect(self.task_clicked)
        column.order_requested.connect(self.order_requested)
        column.more_requested.connect(self.more_requested)
        column.step_requested.connect(lambda step: self.step(column, step))
        self.columns[key] = column
        self._row.insertWidget(position, column, 1)
        return column

    @property
    def reading(self) -> int:
        """The group's consumers that read the queue (last poll)."""
        return self._reading

    def set_reading_consumers(self, count: int) -> None:
        """How many of the group's consumers read the queue (Go's ``dispatcher`` too)."""
        self._reading = count
        self._count_consumers()

    def set_queues(self, infos: list[QueueInfo]) -> None:
        """The named queues' depths, shown by the Queue column."""
        self.columns[QUEUE].set_queue_depths(infos)

    def _count_consumers(self, *_: object) -> None:
        online = sum(1 for entry in self.workers.entries() if entry.online)
        self.columns[QUEUE].set_consumers(max(online, self._reading))

    def _workers_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            entry = self.workers.entries()[row]
            if entry.name not in self.columns:
                self._add(entry.name, row + 1).set_entry(entry)

    def _workers_changed(self, first: QModelIndex, last: QModelIndex, *_: object) -> None:
        entries = self.workers.entries()
        for row in range(first.row(), last.row() + 1):
            column = self.columns.get(entries[row].name)
            if column is not None:
                column.set_entry(entries[row])
