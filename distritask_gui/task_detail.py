"""The task detail dialog: every field, the payload, the status timeline, the error.

It shows a :class:`TaskState` given to :meth:`TaskDetail.show_state` (the window gives
it the model's copy at once, then the broker's full record, then every change) and
emits ``cancel_requested`` / ``retry_requested`` with the task id.
"""

from __future__ import annotations

import json
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.policy import retry_problem
from backend.protocol import TaskStatus
from backend.state import TaskState
from distritask_gui import theme


def when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d}"


class TaskDetail(QDialog):
    cancel_requested = Signal(str)
    retry_requested = Signal(str)

    def __init__(self, state: TaskState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task_id = state.id
        self.setObjectName("detail")
        self.setWindowTitle(f"Task #{state.id[:6]}")
        self.resize(600, 740)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        for key in (
            "id",
            "name",
            "status",
            "worker",
            "progress",
            "attempt",
            "message",
            "created",
            "started",
            "finished",
            "latency",
        ):
            label = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.fields[key] = label
            form.addRow(key.capitalize(), label)
        self.payload = QPlainTextEdit(readOnly=True)
        self.payload.setMaximumHeight(110)
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(["Time", "Status", "Worker", "Attempt", "Message"])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setMinimumHeight(150)
        self.error = theme.named(QPlainTextEdit(readOnly=True), "errorText")
        self.error.setMaximumHeight(80)
        self.cancel_button = QPushButton("Cancel task")
        self.retry_button = QPushButton("Retry")
        self.cancel_button.clicked.connect(lambda: self.cancel_requested.emit(self.task_id))
        self.retry_button.clicked.connect(lambda: self.retry_requested.emit(self.task_id))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Payload"))
        layout.addWidget(self.payload)
        layout.addWidget(QLabel("Timeline"))
        layout.addWidget(self.timeline, 1)
        self.error_title = QLabel("Error")
        layout.addWidget(self.error_title)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.show_state(state)

    def show_state(self, state: TaskState) -> None:
        if state.id != self.task_id:
            return
        previous = getattr(self, "state", None)
        if previous is not None and (previous.history or previous.payload is not None):
            state = _merged(previous, state)
        self.state = state
        color = theme.STATUS_COLOR[state.status].name()
        values = {
            "id": state.id,
            "name": state.name,
            "status": f'<span style="color:{color}"><b>{state.status.value}</b></span>',
            "worker": state.worker or "—",
            "progress": f"{state.progress}%",
            "attempt": str(state.attempt),
            "message": state.message or "—",
            "created": when(state.created),
            "started": when(state.started),
            "finished": when(state.finished),
            "latency": "—" if state.latency is None else f"{state.latency:.3f} s",
        }
        for key, value in values.items():
            self.fields[key].setText(value)
        self.payload.setPlainText(
            "null" if state.payload is None else json.dumps(state.payload, indent=2, default=str)
        )
        self.timeline.clear()
        for entry in state.history:
            item = QTreeWidgetItem(
                [
                    when(entry.ts),
                    entry.status.value,
                    entry.worker,
                    str(entry.attempt),
                    entry.message,
                ]
            )
            item.setForeground(1, theme.STATUS_COLOR[entry.status])
            self.timeline.addTopLevelItem(item)
        for column in range(4):
            self.timeline.resizeColumnToContents(column)
        self.error.setPlainText(state.error or "")
        self.error.setVisible(bool(state.error))
        self.error_title.setVisible(bool(state.error))
        self.cancel_button.setEnabled(not state.status.terminal)
        problem = retry_problem(f"#{self.task_id[:6]}", state.status)
        self.retry_button.setEnabled(problem is None)
        self.retry_button.setToolTip(problem or "")
        if state.status is TaskStatus.CANCELLED:
            self.cancel_button.setToolTip("already cancelled")


def _merged(previous: TaskState, state: TaskState) -> TaskState:
    """``state`` with what the dialog already knew of the timeline and payload: the
    model keeps no payload and only the timeline it saw itself (none once finished),
    the broker's record has all of it."""
    seen = {(e.status, e.ts, e.attempt) for e in state.history}
    history = state.history + [
        e for e in previous.history if (e.status, e.ts, e.attempt) not in seen
    ]
    history.sort(key=lambda e: (e.attempt, e.ts or 0.0))
    payload = state.payload if state.payload is not None else previous.payload
    return state.model_copy(update={"history": history, "payload": payload})
