"""Alerts in the panel: the list (time, message, what it concerns), the banner shown
inside the window, and desktop notifications through the system tray.

:class:`AlertModel` keeps every alert the panel's engine reported, newest first; a
resolved one stays, greyed, with the time it cleared. Activating a row asks for the
thing concerned (``subject_requested(kind, subject)``: a task opens its detail).
:class:`AlertNotifier` shows each alert raised as a tray message where
``QSystemTrayIcon.isSystemTrayAvailable()``, otherwise in the :class:`AlertBanner`.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from backend.alerts import Alert, AlertEvent
from distritask_gui import theme

Index = QModelIndex | QPersistentModelIndex
RESOLVED_COLOR = QColor("#71717a")


def clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def describe(alert: Alert) -> str:
    """One row's text: time, message, and when it cleared."""
    text = f"{clock(alert.fired)}  {alert.message}"
    if alert.times > 1:
        text += f" (raised {alert.times} times)"
    if alert.resolved is not None:
        text += f" — resolved {clock(alert.resolved)}"
    return text


class AlertModel(QAbstractListModel):
    """Every alert reported, newest first."""

    AlertRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.alerts: list[Alert] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.alerts)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        alert = self.alerts[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return describe(alert)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{alert.subject_kind} {alert.subject} — double click to show it"
        if role == Qt.ItemDataRole.ForegroundRole and not alert.active:
            return QBrush(RESOLVED_COLOR)
        if role == self.AlertRole:
            return alert
        return None

    def apply(self, event: AlertEvent) -> None:
        alert = event.alert
        for row, known in enumerate(self.alerts):
            if known.id == alert.id:
                self.alerts[row] = alert
                index = self.index(row)
                self.dataChanged.emit(index, index)
                return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.alerts.insert(0, alert)
        self.endInsertRows()

    def active(self) -> list[Alert]:
        return [a for a in self.alerts if a.active]


class AlertsView(QWidget):
    """The alert list (a tab beside the board)."""

    subject_requested = Signal(str, str)
    """``subject_kind`` and ``subject`` of the alert activated (double click, Enter)."""

    def __init__(self, model: AlertModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.list = QListView()
        self.list.setModel(model)
        self.list.setUniformItemSizes(True)
        self.list.setToolTip("Alerts, newest first; double click one to show what it concerns")
        self.empty = theme.named(QLabel("No alerts: the cluster needs nothing from you."), "note")
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        self.list.activated.connect(self._activated)
        model.rowsInserted.connect(self._update_empty)
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty.setVisible(self.model.rowCount() == 0)

    def _activated(self, index: QModelIndex) -> None:
        alert: Alert = index.data(AlertModel.AlertRole)
        self.subject_requested.emit(alert.subject_kind, alert.subject)


class AlertBanner(QFrame):
    """The newest active alert, inside the window (where no system tray exists)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertBanner")
        self.setStyleSheet(
            "#alertBanner { background: #451a03; border: 1px solid #b45309; border-radius: 8px; }"
            "#alertBanner QLabel { color: #fde68a; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.dismiss = QPushButton()
        self.dismiss.setIcon(theme.icon("x"))
        self.dismiss.setFlat(True)
        self.dismiss.setToolTip("Hide this alert (it stays in the Alerts tab)")
        self.dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.dismiss)
        self.alert: Alert | None = None
        self.hide()

    def show_alert(self, alert: Alert) -> None:
        self.alert = alert
        self.text.setText(f"⚠ {clock(alert.notified)}  {alert.message}")
        self.show()

    def resolved(self, alert: Alert, still_active: list[Alert]) -> None:
        """``alert`` cleared: show the newest one still active, or hide."""
        if self.alert is None or self.alert.id != alert.id:
            return
        if still_active:
            self.show_alert(still_active[0])
        else:
            self.alert = None
            self.hide()


class AlertNotifier(QObject):
    """Tells the user about each alert raised: a tray message, else the banner."""

    def __init__(self, model: AlertModel, banner: AlertBanner, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self.banner = banner
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(theme.app_icon(), self)
            self.tray.setToolTip("Distritask")
            self.tray.show()

    def notify(self, event: AlertEvent) -> None:
        alert = event.alert
        if event.change == "resolved":
            self.banner.resolved(alert, self.model.active())
            return
        if self.tray is not None:
            self.tray.showMessage(
                "Distritask alert", alert.message, QSystemTrayIcon.MessageIcon.Warning, 10_000
            )
        else:
            self.banner.show_alert(alert)
