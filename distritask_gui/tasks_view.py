"""The Tasks view: every retained task, a page at a time, filtered, sorted, acted on.

The filter comes from :class:`~distritask_gui.task_filter_bar.TaskFilterBar`.
Ctrl+F focuses the search; Enter or a double click opens the task.
Bulk actions (on the selection, or on every task matching) are confirmed with the
count and run in batches behind a progress dialog (:class:`~distritask_gui.bulk_run.BulkRun`).

A free-text search shows its first page as soon as it is full ("at least N"), then
keeps counting every match in the background, with a progress bar
(:class:`~distritask_gui.search_count.SearchCount`); then the count is exact.
"""

from __future__ import annotations

import time
from functools import partial

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from backend.store import Page
from backend.store.query import BULK_ACTIONS, BulkAction
from backend.task_filter import FilterError, TaskFilter
from distritask_gui.bulk_run import BulkRun
from distritask_gui.console_actions import ConsoleActions
from distritask_gui.search_count import SearchCount
from distritask_gui.task_filter_bar import RANGES, SORT_LABELS, TaskFilterBar
from distritask_gui.tasks_table import TasksTable, table_view

PAGE_SIZE = 100
REFRESH_MS = 2000

__all__ = ["PAGE_SIZE", "RANGES", "REFRESH_MS", "SORT_LABELS", "TaskFilterBar", "TasksView"]


class TasksView(QWidget):
    task_requested = Signal(object)
    """A :class:`TaskState` to open in the detail dialog."""

    def __init__(self, actions: ConsoleActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = actions
        self.model = TasksTable(self)
        self.offset = 0
        self.total = 0
        self.exact = True
        self._request = 0
        self._build()
        actions.page_loaded.connect(self._page_loaded)
        self.bulk = BulkRun(actions, self)
        self.bulk.said.connect(self.count.setText)
        self.bulk.ended.connect(self.reload)
        actions.changed.connect(self._changed)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.count = QLabel()
        self.searching = SearchCount(self.console)
        self.searching.counted.connect(self._counted)
        self.filters = TaskFilterBar()
        self.filters.changed.connect(self._filters_changed)
        self.filters.invalid.connect(self.count.setText)
        bar = self.filters
        self.status, self.name, self.queue = bar.status, bar.name, bar.queue
        self.worker, self.range, self.sort = bar.worker, bar.range, bar.sort
        self.search, self.filter_text = bar.search, bar.filter_text

        self.table = table_view(self.model)
        self.table.doubleClicked.connect(self._open)
        self.table.activated.connect(self._open)

        self.prev = QPushButton("◀")
        self.next = QPushButton("▶")
        self.prev.clicked.connect(lambda: self._turn(-1))
        self.next.clicked.connect(lambda: self._turn(1))
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.delete_button = QPushButton("Delete")
        buttons: tuple[tuple[QPushButton, BulkAction], ...] = (
            (self.cancel_button, "cancel"),
            (self.retry_button, "retry"),
            (self.delete_button, "delete"),
        )
        for button, action in buttons:
            button.setToolTip(f"{action.title()} the selected tasks")
            button.clicked.connect(partial(self.act_on_selection, action))
        self.all_button = QPushButton("All matching…")
        menu = QMenu(self.all_button)
        for action in BULK_ACTIONS:
            menu.addAction(
                f"{action.title()} every task matching the filter",
                partial(self._act_on_current, action),
            )
        self.all_button.setMenu(menu)
        self.retry_failed = QPushButton("Retry all failed")
        self.retry_failed.clicked.connect(
            lambda: self.act_on_filter("retry", TaskFilter(status="failed"))
        )
        self.purge = QPushButton("Purge finished older than…")
        self.purge.clicked.connect(self.ask_purge)
        tips: dict[QWidget, str] = {
            self.table: "Select rows for a bulk action; Enter or a double-click opens a task",
            self.prev: "Previous page",
            self.next: "Next page",
            self.all_button: "Cancel, retry or delete every task the filter matches",
            self.retry_failed: "Queue every failed task again",
            self.purge: "Delete finished tasks older than an age you choose",
        }
        for control, tip in tips.items():
            control.setToolTip(tip)
        actions_row = QHBoxLayout()
        for item in (self.count, self.searching, self.prev, self.next):
            actions_row.addWidget(item)
        actions_row.addStretch(1)
        for item in (
            self.cancel_button,
            self.retry_button,
            self.delete_button,
            self.all_button,
            self.retry_failed,
            self.purge,
        ):
            actions_row.addWidget(item)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions_row)
        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search)

    def focus_search(self) -> None:
        self.filters.focus_search()

    # -- the filter ----------------------------------------------------------------------

    def current_filter(self) -> TaskFilter:
        """The filter the widgets describe."""
        return self.filters.current_filter()

    def set_filter(self, wanted: TaskFilter) -> None:
        """Show ``wanted`` in the widgets and list what it matches."""
        self.filters.set_filter(wanted)

    def _filters_changed(self) -> None:
        self.offset = 0
        self.reload()

    # -- pages -------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            wanted = self.current_filter()
        except FilterError as exc:
            self.count.setText(f"⚠ {exc}")
            return
        self._request += 1
        self.console.load_page(self._request, wanted, PAGE_SIZE, self.offset)

    def _changed(self, what: str) -> None:
        if what == "tasks":
            self.reload()

    def _tick(self) -> None:
        if self.isVisible() and self.bulk.progress is None:
            self.reload()

    def _page_loaded(self, request: int, page: Page) -> None:
        if request != self._request:
            return
        selected = set(self.selected_ids())
        self.total, self.exact = page.total, page.exact
        try:
            known = self.searching.page_shown(self.current_filter(), page.exact)
        except FilterError:
            known = None
        if known is not None:
            self.total, self.exact = max(page.total, known), True
        self.model.set_states(page.tasks)
        selection = self.table.selectionModel()
        for row, state in enumerate(page.tasks):
            if state.id in selected:
                selection.select(
                    self.model.index(row, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )
        self._show_count()

    def _counted(self, total: int) -> None:
        """The free-text search counted every match."""
        self.total, self.exact = max(self.total, total), True
        self._show_count()

    def _show_count(self) -> None:
        shown = self.model.rowCount()
        first = self.offset + 1 if shown else 0
        last = self.offset + shown
        total = f"{self.total:,}" if self.exact else f"at least {self.total:,}"
        self.count.setText(f"{first:,} to {last:,} of {total}")
        self.prev.setEnabled(self.offset > 0)
        self.next.setEnabled(last < self.total or not self.exact)

    def _turn(self, step: int) -> None:
        self.offset = max(0, self.offset + step * PAGE_SIZE)
        self.reload()

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [state.id for row in rows if (state := self.model.state(row)) is not None]

    def _open(self, index: QModelIndex) -> None:
        state = self.model.state(index.row())
        if state is not None:
            self.task_requested.emit(state)

    def keyPressEvent(self, event: object) -> None:  # Enter on a row opens it
        key = getattr(event, "key", lambda: None)()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.hasFocus():
            self._open(self.table.currentIndex())
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]

    # -- bulk actions --------------------------------------------------------------------

    def act_on_selection(self, action: BulkAction) -> None:
        ids = self.selected_ids()
        if not ids:
            self.count.setText("Select tasks first (click, Shift/Ctrl+click)")
            return
        self.bulk.confirm(action, ids, "selected")

    def _act_on_current(self, action: BulkAction) -> None:
        self.act_on_filter(action, self.current_filter())

    def act_on_filter(self, action: BulkAction, wanted: TaskFilter) -> None:
        """Count what ``wanted`` matches, then confirm and run ``action`` on it."""
        self._request += 1
        self.bulk.on_matching(self._request, action, wanted)

    def ask_purge(self) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Purge finished tasks")
        dialog.setLabelText("Delete finished tasks created more than this many hours ago:")
        dialog.setInputMode(QInputDialog.InputMode.IntInput)
        dialog.setIntRange(0, 24 * 365)
        dialog.setIntValue(24)
        dialog.intValueSelected.connect(self.purge_older_than)
        dialog.open()
        self.purge_dialog = dialog
        return dialog

    def purge_older_than(self, hours: int) -> None:
        cutoff = time.time() - hours * 3600
        self.act_on_filter("delete", TaskFilter(until=cutoff))
