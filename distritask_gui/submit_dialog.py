"""The advanced submit dialog: task name, JSON payload, count, queue, and when the tasks
may run (now, after a delay, or at a time), checked before sending.

It opens with the values last submitted (kept in QSettings)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from PySide6.QtCore import QDateTime, QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.policy import MAX_DELAY, due_time, name_problem
from backend.protocol import DEFAULT_QUEUE, DEFAULT_TASK, QUEUE_PATTERN
from distritask_gui import theme

KNOWN_TASKS = (DEFAULT_TASK, "noop")
LAST_NAME, LAST_PAYLOAD, LAST_COUNT = "submit/name", "submit/payload", "submit/count"
LAST_QUEUE = "submit/queue"
"""QSettings keys of the last submitted values (when the tasks run is not kept: a delay
or a time is meant for one submit)."""
NOW, AFTER, AT = "now", "after a delay", "at a time"
"""The choices of the dialog's "When" row."""
AT_FORMAT = "yyyy-MM-dd HH:mm:ss t"
When = float | datetime
"""When submitted tasks may run: seconds from now (0: now), or a time (with its zone)."""


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
    """Name, payload, count, queue and when; remembers what was last submitted
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
        self.count = theme.spin_box(QSpinBox(minimum=1, maximum=10_000, value=1))
        self.count.setMinimumWidth(120)
        self.count.setToolTip("How many identical tasks to queue")
        self.queue = QLineEdit(DEFAULT_QUEUE)
        self.queue.setToolTip(
            "The named queue (workers take their queues in the order they were given; "
            "'default' is the one the Go services share)"
        )
        self.when = QComboBox()
        self.when.addItems([NOW, AFTER, AT])
        self.when.setToolTip("Run the tasks now, after a delay, or at a time (shown as scheduled)")
        delay = QDoubleSpinBox(minimum=0.1, maximum=MAX_DELAY, decimals=1, value=60)
        self.delay = theme.spin_box(delay)
        self.delay.setSuffix(" s")
        self.delay.setMinimumWidth(120)
        self.delay.setToolTip("Seconds from now before the tasks may run")
        self.at = theme.spin_box(QDateTimeEdit(QDateTime.currentDateTime().addSecs(3600)))
        self.at.setDisplayFormat(AT_FORMAT)
        self.at.setCalendarPopup(True)
        # the popup is sized by the calendar's hint, which leaves the last week cut off
        # under the panel's stylesheet: room for a title and seven rows of text
        calendar = self.at.calendarWidget()
        calendar.setMinimumHeight(12 * calendar.fontMetrics().lineSpacing())
        self.at.setToolTip("When the tasks may run, in this computer's time zone")
        self.when.currentTextChanged.connect(self._show_when)
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
        self.when.currentTextChanged.connect(self.validate)
        self.at.dateTimeChanged.connect(self.validate)
        when = QHBoxLayout()
        when.setContentsMargins(0, 0, 0, 0)
        when.addWidget(self.when)
        when.addWidget(self.delay, 1)
        when.addWidget(self.at, 1)
        self._show_when()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Task name", self.name)
        form.addRow("Payload (JSON)", self.payload)
        form.addRow("Count", self.count)
        form.addRow("Queue", self.queue)
        form.addRow("When", when)
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

    def _show_when(self) -> None:
        """Show the field the "When" choice needs (none for now)."""
        choice = self.when.currentText()
        self.delay.setVisible(choice == AFTER)
        self.at.setVisible(choice == AT)

    def validate(self) -> bool:
        """Check the inputs; show the reason and disable Submit when they are wrong."""
        try:
            check_name(self.name.currentText())
            parse_payload(self.payload.toPlainText())
            check_queue(self.queue.text())
            self._when()
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

    def routing(self) -> tuple[str, When]:
        """The queue the tasks go to, and when they may run (see :data:`When`)."""
        return check_queue(self.queue.text()), self._when()

    def _when(self) -> When:
        """The "When" row's value; ``ValueError`` (the submit policy's
        :func:`~backend.policy.due_time` rule) for a time too far ahead."""
        choice = self.when.currentText()
        if choice == AFTER:
            return self.delay.value()
        if choice == AT:
            picked = self.at.dateTime().toPython()
            assert isinstance(picked, datetime)
            at = picked.astimezone()  # the picked local time, with its zone
            due_time(at=at)
            return at
        return 0.0
