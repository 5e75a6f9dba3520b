"""The advanced submit dialog: task name, JSON payload, count, queue and delay, checked
before sending.

It opens with the values last submitted (kept in QSettings)."""

from __future__ import annotations

import json
import re
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.policy import MAX_DELAY, name_problem
from backend.protocol import DEFAULT_QUEUE, DEFAULT_TASK, QUEUE_PATTERN
from distritask_gui import theme

KNOWN_TASKS = (DEFAULT_TASK, "noop")
LAST_NAME, LAST_PAYLOAD, LAST_COUNT = "submit/name", "submit/payload", "submit/count"
LAST_QUEUE = "submit/queue"
"""QSettings keys of the last submitted values (the delay is not kept: a delay is
meant for one submit)."""


def parse_payload(text: str) -> Any:
    """The payload as JSON (empty text: ``None``); raises ``ValueError`` with the reason."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"payload is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def check_name(name: str) -> str:
    """The name, stripped, if well-formed (the submit policy: :mod:`backend.policy`)."""
    name = name.strip()
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


def check_queue(queue: str) -> str:
    """The queue name, stripped; ``ValueError`` saying what is wrong with it."""
    queue = queue.strip() or DEFAULT_QUEUE
    if not re.match(QUEUE_PATTERN, queue):
        raise ValueError(
            f"queue {queue!r}: letters, digits, _ . - (at most 64, starting with a letter or digit)"
        )
    return queue


class SubmitDialog(QDialog):
    """Name, payload, count, queue and delay; remembers what was last submitted
    (QSettings)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Submit tasks")
        self.setMinimumWidth(460)
        self.name = QComboBox(editable=True)
        self.name.addItems(list(KNOWN_TASKS))
        self.name.setToolTip("The handler to run: a built-in one or any name your workers know")
        self.payload = QPlainTextEdit()
        self.payload.setPlaceholderText('{"seconds": 2}')
        self.payload.setFixedHeight(120)
        self.payload.setTabChangesFocus(True)
        self.payload.setToolTip("The task's payload as JSON (empty: null)")
        self.count = QSpinBox(minimum=1, maximum=10_000, value=1)
        self.count.setMinimumWidth(120)
        self.count.setToolTip("How many identical tasks to queue")
        self.queue = QLineEdit(DEFAULT_QUEUE)
        self.queue.setToolTip(
            "The named queue (workers take their queues in the order they were given; "
            "'default' is the one the Go services share)"
        )
        self.delay = QDoubleSpinBox(minimum=0, maximum=MAX_DELAY, decimals=1, value=0)
        self.delay.setSuffix(" s")
        self.delay.setSpecialValueText("run now")
        self.delay.setMinimumWidth(120)
        self.delay.setToolTip("Seconds before the tasks may run (0: now); shown as scheduled")
        self.error = theme.named(QLabel(), "error")
        self.error.setWordWrap(True)
        # room for two lines kept at all times: an error never moves or covers a field
        self.error.setMinimumHeight(2 * self.error.fontMetrics().lineSpacing() + 4)
        self.error.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Submit")
        ok.setObjectName("deploy")
        ok.setToolTip("Queue the tasks (Enter)")
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setToolTip("Close without queuing anything (Esc)")
        theme.flat_buttons(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._restore()
        self.payload.textChanged.connect(self.validate)
        self.name.currentTextChanged.connect(self.validate)
        self.queue.textChanged.connect(self.validate)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Task name", self.name)
        form.addRow("Payload (JSON)", self.payload)
        form.addRow("Count", self.count)
        form.addRow("Queue", self.queue)
        form.addRow("Delay", self.delay)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetMinimumSize)
        self.validate()

    def _restore(self) -> None:
        settings = QSettings()
        name = settings.value(LAST_NAME, DEFAULT_TASK)
        payload = settings.value(LAST_PAYLOAD, "")
        count = settings.value(LAST_COUNT, 1)
        queue = settings.value(LAST_QUEUE, DEFAULT_QUEUE)
        self.queue.setText(queue if isinstance(queue, str) else DEFAULT_QUEUE)
        self.name.setEditText(name if isinstance(name, str) else DEFAULT_TASK)
        self.payload.setPlainText(payload if isinstance(payload, str) else "")
        try:
            self.count.setValue(int(count))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            self.count.setValue(1)

    def validate(self) -> bool:
        """Check the inputs; show the reason and disable Submit when they are wrong."""
        try:
            check_name(self.name.currentText())
            parse_payload(self.payload.toPlainText())
            check_queue(self.queue.text())
        except ValueError as exc:
            self.error.setText(str(exc))
            ok = False
        else:
            self.error.setText("")
            ok = True
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        return ok

    def accept(self) -> None:
        if self.validate():
            settings = QSettings()
            settings.setValue(LAST_NAME, self.name.currentText().strip())
            settings.setValue(LAST_PAYLOAD, self.payload.toPlainText())
            settings.setValue(LAST_COUNT, self.count.value())
            settings.setValue(LAST_QUEUE, self.queue.text().strip())
            super().accept()

    def result_values(self) -> tuple[str, Any, int]:
        return (
            check_name(self.name.currentText()),
            parse_payload(self.payload.toPlainText()),
            self.count.value(),
        )

    def routing(self) -> tuple[str, float]:
        """The queue and the delay (seconds; 0: run now) the tasks go with."""
        return check_queue(self.queue.text()), self.delay.value()
