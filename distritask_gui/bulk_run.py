"""A bulk action of the Tasks view, from the question to the end: confirmed with the
count, then run in batches behind a progress dialog that can stop it.

:class:`BulkRun` asks (a question box naming the action, the count and what was chosen:
the selection, or every task a filter matches, counted first by
:meth:`~distritask_gui.console_actions.ConsoleActions.match`), runs the action through
:meth:`~distritask_gui.console_actions.ConsoleActions.bulk`, follows its progress, and
says how it ended.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from backend.store.query import BulkAction
from backend.task_filter import TaskFilter
from distritask_gui.console_actions import ConsoleActions


class BulkRun(QObject):
    said = Signal(str)
    """A line for the view's count label: how a run ended."""
    ended = Signal()
    """A run ended or was stopped (the view lists its page again)."""

    def __init__(self, console: ConsoleActions, view: QWidget) -> None:
        super().__init__(view)
        self.console = console
        self.view = view
        """The view whose dialogs these are."""
        self._pending: tuple[BulkAction, str] | None = None
        self.confirm_box: QMessageBox | None = None
        self.progress: QProgressDialog | None = None
        console.matched.connect(self._matched)
        console.bulk_progress.connect(self._progress)
        console.bulk_finished.connect(self._finished)

    def on_matching(self, request: int, action: BulkAction, wanted: TaskFilter) -> None:
        """Count what ``wanted`` matches (as request ``request``), then confirm and run
        ``action`` on it."""
        self._pending = (action, wanted.text() or "every task")
        self.console.match(request, wanted)

    def confirm(self, action: BulkAction, ids: list[str], what: str) -> None:
        """Ask whether to run ``action`` on ``ids`` (``what``: which tasks they are)."""
        count = len(ids)
        box = QMessageBox(self.view)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(f"{action.title()} tasks")
        note = " (only finished ones are deleted)" if action == "delete" else ""
        box.setText(f"{action.title()} {count:,} task{'s' if count != 1 else ''} {what}?{note}")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(lambda: self._run(action, ids))
        box.open()
        self.confirm_box = box

    def _matched(self, request: int, ids: list[str]) -> None:
        if self._pending is None:
            return
        action, described = self._pending
        self._pending = None
        self.confirm(action, ids, f"matching {described}")

    def _run(self, action: BulkAction, ids: list[str]) -> None:
        if self.confirm_box is None:
            return
        self.confirm_box = None
        if not ids:
            return
        progress = QProgressDialog(f"{action.title()}…", "Stop", 0, len(ids), self.view)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        progress.canceled.connect(self.console.stop_bulk)
        progress.canceled.connect(self._closed)
        self.progress = progress
        self.console.bulk(action, ids)

    def _progress(self, handled: int, matched: int) -> None:
        if self.progress is not None:
            self.progress.setMaximum(max(matched, 1))
            self.progress.setValue(handled)

    def _finished(self, action: str, matched: int, done: int) -> None:
        self.said.emit(f"{action.title()}: {done:,} of {matched:,} tasks changed")
        self._closed()

    def _closed(self) -> None:
        progress, self.progress = self.progress, None
        if progress is not None:
            progress.reset()
            progress.deleteLater()
        self.ended.emit()
