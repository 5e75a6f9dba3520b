"""The task detail dialog: every field, the payload, the status timeline, the result
or the error.

The dialog keeps its own copy of the task and follows it live: the window gives it
the model's state when it opens (a copy: the model's may lack the timeline and
payload), then the broker's full record (:meth:`TaskDetail.load_record`, which replaces
what the dialog had, so nothing shows twice), then every live update for this task
(:meth:`TaskDetail.apply_update`, applied by the same rule as everywhere, so a
"cancelled" or "retrying" row appears while the dialog is open). It emits
``cancel_requested`` / ``retry_requested`` with the task id. When the task is deleted
(:meth:`TaskDetail.mark_deleted`) it keeps showing what it had, says so, and offers
neither.
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
from backend.protocol import StatusUpdate, TaskStatus
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
        self.deleted = False
        """The task was deleted: its state is gone from the broker."""
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
        self.result_view = QPlainTextEdit(readOnly=True)
        self.result_view.setMaximumHeight(110)
        self.error = theme.named(QPlainTextEdit(readOnly=True), "errorText")
        self.error.setMaximumHeight(80)
        self.cancel_button = QPushButton("Cancel task")
        self.retry_button = QPushButton("Retry")
        self.cancel_button.clicked.connect(lambda: self.cancel_requested.emit(self.task_id))
        self.retry_button.clicked.connect(lambda: self.retry_requested.emit(self.task_id))
        buttons = theme.flat_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Close))
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close (Esc)")
        self.cancel_button.setToolTip("Ask the worker to stop this task")
        self.payload.setToolTip("The task's payload as submitted")
        self.timeline.setToolTip("Every status change, oldest first")
        self.error.setToolTip("The error of the last attempt")
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Payload"))
        layout.addWidget(self.payload)
        layout.addWidget(QLabel("Timeline"))
        layout.addWidget(self.timeline, 1)
        self.result_title = QLabel("Result")
        layout.addWidget(self.result_title)
        layout.addWidget(self.result_view)
        self.error_title = QLabel("Error")
        layout.addWidget(self.error_title)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.show_state(state)

    def load_record(self, record: TaskState) -> None:
        """The broker's full record of this task (on opening, after an intent)."""
        if record.id != self.task_id:
            return
        current = self.state
        if record.order < current.order:
            # live updates overtook the read: keep them on top of the record's timeline
            last = record.history[-1] if record.history else None
            newer = [
                e
                for e in current.history
                if last is None or (e.attempt, e.ts or 0.0) > (last.attempt, last.ts or 0.0)
            ]
            record = current.model_copy(
                update={"history": record.history + newer, "payload": record.payload}
            )
        self.show_state(record)

    def apply_update(self, update: StatusUpdate) -> None:
        """A live update for this task."""
        if update.id == self.task_id and self.state.apply(update):
            self.show_state(self.state)

    def mark_deleted(self) -> None:
        """The task was deleted (here or elsewhere): show what is known, offer nothing."""
        self.deleted = True
        self.show_state(self.state)

    def show_state(self, state: TaskState) -> None:
        if state.id != self.task_id:
            return
        self.state = state.model_copy(deep=True)
        state = self.state
        color = theme.STATUS_COLOR[state.status].name()
        values = {
            "id": state.id,
            "name": state.name,
            "status": f'<span style="color:{color}"><b>{state.status.value}</b></span>'
            + (" (deleted)" if self.deleted else ""),
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
        done = state.status is TaskStatus.COMPLETED
        self.result_view.setPlainText(
            json.dumps(state.result, indent=2, default=str) if done else ""
        )
        self.result_view.setVisible(done)
        self.result_title.setVisible(done)
        self.error.setPlainText(state.error or "")
        self.error.setVisible(bool(state.error))
        self.error_title.setVisible(bool(state.error))
        self.cancel_button.setEnabled(not state.status.terminal and not self.deleted)
        problem = "Deleted" if self.deleted else retry_problem(f"#{self.task_id[:6]}", state.status)
        self.retry_button.setEnabled(problem is None)
        self.retry_button.setToolTip(problem or "Queue this task again as a new attempt")
        self.cancel_button.setToolTip(
            "Already finished" if state.status.terminal else "Ask the worker to stop this task"
        )
