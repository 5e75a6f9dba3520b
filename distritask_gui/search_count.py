"""A free-text search counted in the background, shown as a progress bar.

A free-text page stops as soon as it is full ("at least N": the Tasks view shows it
at once). :class:`SearchCount` then counts every match (``ConsoleActions.search``,
over :meth:`TaskStore.search_steps <backend.store.TaskStore.search_steps>`), showing
the states searched so far and the matches found, and emits ``counted`` with the
exact total when it ends. Reloading the same search (the view refreshes every few
seconds) keeps the count made; another filter stops it.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QProgressBar, QWidget

from backend.store.query import SearchProgress
from backend.task_filter import TaskFilter
from distritask_gui.console_actions import ConsoleActions


class SearchCount(QProgressBar):
    counted = Signal(int)
    """Every match of the search was counted: the total."""

    def __init__(self, actions: ConsoleActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = actions
        self.setObjectName("searching")
        self.setMinimumWidth(300)
        self.setMaximumWidth(340)
        self.setTextVisible(True)
        self.setToolTip("Free text: every retained task is searched in the background")
        self.setVisible(False)
        self.searched: TaskFilter | None = None
        """The free-text filter counted (or being counted)."""
        self.total: int | None = None
        """Its count, once the search ended."""
        self._request = 0
        actions.search_progress.connect(self._progress)

    def page_shown(self, wanted: TaskFilter, exact: bool) -> int | None:
        """A page of ``wanted`` was shown: count its matches if it stopped early (once
        per search); the count already made, if any."""
        wanted = replace(wanted, sort="-created")  # the order does not change the count
        if exact or not wanted.q:
            if wanted != self.searched:
                self.stop()
            return None
        if wanted == self.searched:
            return self.total
        self.stop()
        self.searched = wanted
        self.setRange(0, 0)  # busy until the first step says how far it goes
        self.setFormat("searching…")
        self.setVisible(True)
        self.console.search(self._request, wanted)
        return None

    def stop(self) -> None:
        self.console.stop_search()
        self._request += 1
        self.searched = self.total = None
        self.setVisible(False)

    def _progress(self, request: int, progress: SearchProgress) -> None:
        if request != self._request:
            return
        if progress.done:
            self.total = progress.matches
            self.setVisible(False)
            self.counted.emit(progress.matches)
            return
        self.setRange(0, max(1, progress.candidates))
        self.setValue(progress.searched)
        self.setFormat(
            f"searched {progress.searched:,} of {progress.candidates:,} · "
            f"{progress.matches:,} found"
        )
