"""The advanced submit dialog: task name, JSON payload and count, checked before sending."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from backend.policy import name_problem
from backend.protocol import DEFAULT_TASK
from distritask_gui import theme

KNOWN_TASKS = (DEFAULT_TASK, "noop")


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


class SubmitDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Submit tasks")
        self.setMinimumWidth(440)
        self.name = QComboBox(editable=True)
        self.name.addItems(list(KNOWN_TASKS))
        self.payload = QPlainTextEdit()
        self.payload.setPlaceholderText('{"seconds": 2}')
        self.payload.setFixedHeight(120)
        self.count = QSpinBox(minimum=1, maximum=10_000, value=1)
        self.error = theme.named(QLabel(), "error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Submit")
        ok.setObjectName("deploy")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.payload.textChanged.connect(self.validate)
        self.name.currentTextChanged.connect(self.validate)
        form = QFormLayout(self)
        form.addRow("Task name", self.name)
        form.addRow("Payload (JSON)", self.payload)
        form.addRow("Count", self.count)
        form.addRow(self.error)
        form.addRow(self.buttons)
        self.validate()

    def validate(self) -> bool:
        """Check the inputs; show the reason and disable Submit when they are wrong."""
        try:
            check_name(self.name.currentText())
            parse_payload(self.payload.toPlainText())
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
            super().accept()

    def result_values(self) -> tuple[str, Any, int]:
        return (
            check_name(self.name.currentText()),
            parse_payload(self.payload.toPlainText()),
            self.count.value(),
        )
