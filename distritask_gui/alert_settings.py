"""The alert thresholds in the settings dialog, kept in QSettings.

Saved values win over the ``DISTRITASK_ALERT_*`` settings (the defaults shown until
something is saved) and apply to the running panel at once.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QWidget

from backend.alerts import Thresholds
from distritask_gui import theme

PREFIX = "alerts/"
MIB = 2**20


def saved_thresholds(defaults: Thresholds, settings: QSettings | None = None) -> Thresholds:
    """``defaults`` with the values saved in QSettings (a bad one is ignored)."""
    store = settings or QSettings()
    changes: dict[str, Any] = {}
    for field in fields(Thresholds):
        value = store.value(PREFIX + field.name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        changes[field.name] = int(number) if field.name == "memory_bytes" else number
    return replace(defaults, **changes)


def save_thresholds(thresholds: Thresholds, settings: QSettings | None = None) -> None:
    store = settings or QSettings()
    for field in fields(Thresholds):
        store.setValue(PREFIX + field.name, getattr(thresholds, field.name))


def _spin(low: float, high: float, decimals: int, suffix: str, tip: str) -> QDoubleSpinBox:
    spin = theme.spin_box(QDoubleSpinBox())
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    return spin


class ThresholdsForm(QWidget):
    """One field per threshold."""

    def __init__(self, thresholds: Thresholds, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.no_consumer = _spin(
            1, 86_400, 0, " s", "Alert when tasks wait this long in a queue no worker reads"
        )
        self.failure_rate = _spin(
            1, 100, 0, " %", "Alert when more of the last minute's finished tasks failed"
        )
        self.broker_down = _spin(
            1, 86_400, 0, " s", "Alert when the broker is unreachable this long"
        )
        self.memory = _spin(
            0, 1_000_000, 1, " MiB", "Alert above this Redis memory; 0: 90 % of its maxmemory"
        )
        self.memory.setSpecialValueText("90 % of maxmemory")
        self.repeat = _spin(
            0.1, 1440, 1, " min", "Raise an alert again this often while its condition holds"
        )
        self.no_consumer.setValue(thresholds.no_consumer_after)
        self.failure_rate.setValue(thresholds.failure_rate * 100)
        self.broker_down.setValue(thresholds.broker_down_after)
        self.memory.setValue(thresholds.memory_bytes / MIB)
        self.repeat.setValue(thresholds.repeat / 60)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Queue unread for", self.no_consumer)
        form.addRow("Failure rate above", self.failure_rate)
        form.addRow("Broker down for", self.broker_down)
        form.addRow("Redis memory above", self.memory)
        form.addRow("Repeat alerts every", self.repeat)

    def thresholds(self) -> Thresholds:
        return Thresholds(
            no_consumer_after=self.no_consumer.value(),
            failure_rate=self.failure_rate.value() / 100,
            broker_down_after=self.broker_down.value(),
            memory_bytes=int(self.memory.value() * MIB),
            repeat=self.repeat.value() * 60,
        )
