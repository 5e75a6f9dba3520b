"""The Tasks view's filter bar: status, name, queue, worker, time range, sort, free text.

The inputs build a :class:`~backend.task_filter.TaskFilter`; its short text form
(``status:failed name:resize q:timeout``) is shown in an editable line below them, so a
filter can be copied and pasted back. ``changed`` fires when the filter changes;
``invalid`` carries the message of a filter that cannot be built or parsed.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from backend.protocol import TaskStatus
from backend.task_filter import FilterError, TaskFilter, parse_time

SORT_LABELS = {
    "-created": "newest first",
    "created": "oldest first",
    "-finished": "last finished first",
    "finished": "first finished first",
    "-duration": "longest first",
    "duration": "shortest first",
}
RANGES = {"any time": None, "last hour": "-1h", "last 24 hours": "-24h", "last 7 days": "-7d"}


class TaskFilterBar(QWidget):
    changed = Signal()
    """The filter changed: list what it matches from the first page."""
    invalid = Signal(str)
    """The filter (widgets or pasted text) is not valid: the message to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._since_text: float | None = None
        self._until_text: float | None = None
        self._id_prefix: str | None = None
        self.status = QComboBox()
        self.status.addItems(["any status", *(s.value for s in TaskStatus)])
        self.name = self._edit("name")
        self.queue = self._edit("queue")
        self.worker = self._edit("worker")
        self.range = QComboBox()
        self.range.addItems(list(RANGES))
        self.sort = QComboBox()
        for sort, label in SORT_LABELS.items():
            self.sort.addItem(label, sort)
        self.search = self._edit("search id, message, error (Ctrl+F)")
        self.search.setMinimumWidth(240)
        for combo in (self.status, self.range, self.sort):
            combo.currentIndexChanged.connect(self._filters_changed)
        bar = QHBoxLayout()
        for widget in (self.status, self.name, self.queue, self.worker, self.range, self.sort):
            bar.addWidget(widget)
        bar.addWidget(self.search, 1)
        self.filter_text = QLineEdit()
        self.filter_text.setPlaceholderText("status:failed name:resize q:timeout")
        self.filter_text.setToolTip("The filter as text: copy it, or paste one and press Enter")
        self.filter_text.returnPressed.connect(self._text_entered)
        text_row = QHBoxLayout()
        text_row.addWidget(QLabel("Filter"))
        text_row.addWidget(self.filter_text, 1)
        tips: dict[QWidget, str] = {
            self.status: "Only tasks in this status",
            self.name: "Only tasks with this name",
            self.queue: "Only tasks of this queue",
            self.worker: "Only tasks this worker ran",
            self.range: "Only tasks created in this time range",
            self.sort: "The order of the rows",
            self.search: "Free text over id, message and error (Ctrl+F)",
        }
        for control, tip in tips.items():
            control.setToolTip(tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(text_row)
        self._show_text()

    def _edit(self, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.editingFinished.connect(self._filters_changed)
        edit.returnPressed.connect(self._filters_changed)
        return edit

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def current_filter(self) -> TaskFilter:
        """The filter the widgets describe (raises :class:`FilterError`)."""
        status = self.status.currentText()
        relative = RANGES[self.range.currentText()]
        since = self._since_text if relative is None else parse_time(relative)
        return TaskFilter(
            status=None if status == "any status" else status,
            name=self.name.text().strip() or None,
            queue=self.queue.text().strip() or None,
            worker=self.worker.text().strip() or None,
            id_prefix=self._id_prefix,
            since=since,
            until=self._until_text,
            q=self.search.text().strip() or None,
            sort=self.sort.currentData() or "-created",
        )

    def set_filter(self, wanted: TaskFilter) -> None:
        """Show ``wanted`` in the widgets, then signal ``changed``."""
        widgets = (self.status, self.range, self.sort, self.name, self.queue, self.worker)
        for widget in widgets:
            widget.blockSignals(True)
        self.status.setCurrentText(wanted.status or "any status")
        self.name.setText(wanted.name or "")
        self.queue.setText(wanted.queue or "")
        self.worker.setText(wanted.worker or "")
        self.search.setText(wanted.q or "")
        self.sort.setCurrentIndex(max(0, self.sort.findData(wanted.sort)))
        self.range.setCurrentText("any time")
        self._since_text, self._until_text, self._id_prefix = (
            wanted.since,
            wanted.until,
            wanted.id_prefix,
        )
        for widget in widgets:
            widget.blockSignals(False)
        self._filters_changed(keep_text_range=True)

    def _text_entered(self) -> None:
        try:
            wanted = TaskFilter.parse(self.filter_text.text())
        except FilterError as exc:
            self.invalid.emit(f"⚠ {exc}")
            return
        self.set_filter(wanted)

    def _filters_changed(self, *_: object, keep_text_range: bool = False) -> None:
        if not keep_text_range and RANGES[self.range.currentText()] is not None:
            self._since_text = self._until_text = None
        self._show_text()
        self.changed.emit()

    def _show_text(self) -> None:
        try:
            wanted = self.current_filter()
        except FilterError as exc:
            self.invalid.emit(f"⚠ {exc}")
            return
        relative = RANGES[self.range.currentText()]
        if relative is None:
            self.filter_text.setText(wanted.text())
        else:
            self.filter_text.setText(f"{wanted.with_(since=None).text()} since:{relative}".strip())
