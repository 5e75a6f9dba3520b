"""The settings dialog: the broker URL (with a Test button) and the alert thresholds
(:mod:`~distritask_gui.alert_settings`), kept in QSettings.

An empty URL means "start the embedded cluster". The saved URL is used from the next
start; ``REDIS_URL`` or ``--redis-url`` win over it. Testing goes through the bridge
(``test_requested``); the result comes back through :meth:`show_test_result`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from backend.alerts import Thresholds
from backend.broker_url import redis_url_problem
from distritask_gui import theme
from distritask_gui.alert_settings import ThresholdsForm, save_thresholds

URL_KEY = "broker/url"


def saved_url(settings: QSettings | None = None) -> str | None:
    value = (settings or QSettings()).value(URL_KEY, "")
    return value.strip() if isinstance(value, str) and value.strip() else None


def check_url(url: str) -> str | None:
    """Why ``url`` is not usable, or ``None`` (empty is fine: the embedded cluster)."""
    url = url.strip()
    problem = redis_url_problem(url) if url else None
    return f"the URL {problem}" if problem and problem.startswith("must ") else problem


class SettingsDialog(QDialog):
    test_requested = Signal(str)
    thresholds_saved = Signal(object)
    """The alert :class:`~backend.alerts.Thresholds` saved (apply them now)."""

    def __init__(
        self, current: str, parent: QWidget | None = None, *, thresholds: Thresholds | None = None
    ) -> None:
        super().__init__(parent)
        self.alert_form = None if thresholds is None else ThresholdsForm(thresholds)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.url = QLineEdit(saved_url() or "")
        self.url.setPlaceholderText("empty: start the embedded cluster (e.g. redis://host:6379/0)")
        self.test = QPushButton("Test")
        self.status = theme.named(QLabel(), "note")
        self.status.setWordWrap(True)
        self.note = theme.named(
            QLabel(
                f"Now connected to {current}. A new URL applies from the next start; "
                "REDIS_URL or --redis-url win over it."
            ),
            "note",
        )
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        theme.flat_buttons(self.buttons)
        self.url.setToolTip(
            "redis://, rediss:// (TLS), unix:// or redis+sentinel://H1:26379,H2/SERVICE URL "
            "of the broker; empty: embedded"
        )
        self.test.setToolTip("Check that a server answers at this URL")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setToolTip(
            "Keep this URL for the next start"
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip(
            "Close without saving (Esc)"
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.test.clicked.connect(self._test)
        self.url.textChanged.connect(self._validate)
        row = QHBoxLayout()
        row.addWidget(self.url, 1)
        row.addWidget(self.test)
        form = QFormLayout(self)
        form.addRow("Broker URL", row)
        form.addRow(self.status)
        form.addRow(self.note)
        if self.alert_form is not None:
            form.addRow(theme.named(QLabel("Alerts"), "section"))
            form.addRow(self.alert_form)
        form.addRow(self.buttons)
        self._validate()

    def _validate(self) -> bool:
        problem = check_url(self.url.text())
        self.status.setText(problem or "")
        self.test.setEnabled(problem is None and bool(self.url.text().strip()))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(problem is None)
        return problem is None

    def _test(self) -> None:
        self.status.setText("Testing…")
        self.test_requested.emit(self.url.text().strip())

    def show_test_result(self, ok: bool, text: str) -> None:
        self.status.setText(("✓ " if ok else "✗ ") + text)

    def accept(self) -> None:
        if self._validate():
            QSettings().setValue(URL_KEY, self.url.text().strip())
            if self.alert_form is not None:
                thresholds = self.alert_form.thresholds()
                save_thresholds(thresholds)
                self.thresholds_saved.emit(thresholds)
            super().accept()
