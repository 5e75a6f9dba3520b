"""The footer: totals by status, throughput, latency and the throughput chart.

Throughput counts tasks that reached a terminal state while the panel watched (not
those loaded from the snapshot), in one-second buckets. The chart
(:mod:`~distritask_gui.chart`) shows the last minute live, or a range of the
per-minute history the workers record in Redis (1 h, 24 h, 7 d), picked beside it:
the footer asks for it with :attr:`Footer.history_requested` (again every minute while
a range is shown) and draws what :meth:`Footer.show_history` is given.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from backend.history import History
from backend.protocol import TaskStatus
from distritask_gui import theme
from distritask_gui.chart import ThroughputChart
from distritask_gui.worker_text import span

LIVE = "live"
RANGES = {LIVE: "last 60 s", "1h": "1 h", "24h": "24 h", "7d": "7 d"}
"""What the range box offers: the live minute, or a range of the recorded history."""
RELOAD_EVERY = 60
"""Seconds between reloads of the range shown."""
WINDOW = 5
"""Seconds the shown throughput averages over."""
LATENCIES = 200


class Footer(QFrame):
    """Call :meth:`set_totals` after each batch and :meth:`add_finished` with latencies."""

    history_requested = Signal(str)
    """The user picked a history range (``1h``, ``24h``, ``7d``), or it is due a reload."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("footer")
        self._since_reload = 0
        self._bucket = 0
        self._recent: deque[int] = deque(maxlen=WINDOW)
        self._latencies: deque[float] = deque(maxlen=LATENCIES)
        self.totals: dict[TaskStatus, QLabel] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 8, 20, 8)
        row.setSpacing(18)
        totals = QGridLayout()
        totals.setHorizontalSpacing(18)
        totals.setVerticalSpacing(4)
        for number, status in enumerate(TaskStatus):
            label = theme.named(QLabel(), "total")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setToolTip(f"Tasks {status.value}, of all the panel knows")
            self.totals[status] = label
            totals.addWidget(label, number % 2, number // 2)
        row.addLayout(totals)
        row.addStretch(1)
        self.throughput = theme.named(QLabel(), "metric")
        self.throughput.setToolTip(f"Tasks finished per second, over the last {WINDOW} s")
        self.latency = theme.named(QLabel(), "metric")
        self.latency.setToolTip(
            f"Median time from submission to the end, of the last {LATENCIES} tasks finished"
        )
        metrics = QVBoxLayout()
        metrics.setSpacing(4)
        metrics.addWidget(self.throughput)
        metrics.addWidget(self.latency)
        self.chart = ThroughputChart(self)
        self.range_box = QComboBox()
        for key, text in RANGES.items():
            self.range_box.addItem(text, key)
        self.range_box.setToolTip(
            "What the chart shows: the last minute live, or the history the workers record "
            "(kept 7 days)"
        )
        self.range_box.currentIndexChanged.connect(self._range_changed)
        row.addLayout(metrics)
        chart_box = QVBoxLayout()
        chart_box.setSpacing(2)
        chart_box.addWidget(self.range_box, 0, Qt.AlignmentFlag.AlignRight)
        chart_box.addWidget(self.chart, 1)
        row.addLayout(chart_box, 2)
        self.set_totals(Counter())
        self._show_metrics()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.tick)
        self._tick.start()

    def set_totals(self, totals: Counter[TaskStatus]) -> None:
        for status, label in self.totals.items():
            color = theme.STATUS_COLOR[status].name()
            label.setText(
                f'<span style="color:{color}">●</span> {status.value} '
                f"<b>{totals.get(status, 0):,}</b>"
            )

    def add_finished(self, latencies: list[float | None]) -> None:
        self._bucket += len(latencies)
        self._latencies.extend(x for x in latencies if x is not None)

    def tick(self) -> None:
        """Close this second's bucket (every second); reload a range that is shown."""
        self._recent.append(self._bucket)
        self.chart.push(float(self._bucket))
        self._bucket = 0
        self._show_metrics()
        if self.range != LIVE:
            self._since_reload += 1
            if self._since_reload >= RELOAD_EVERY:
                self._since_reload = 0
                self.history_requested.emit(self.range)

    @property
    def range(self) -> str:
        return str(self.range_box.currentData())

    def _range_changed(self) -> None:
        self._since_reload = 0
        if self.range == LIVE:
            self.chart.show_live()
        else:
            self.history_requested.emit(self.range)

    def show_history(self, history: History) -> None:
        """Draw ``history`` (tasks finished per point) if its range is still the one picked."""
        if history.range != self.range:
            return
        values = [float(p.completed + p.failed + p.cancelled) for p in history.points]
        fmt = "%a %H:%M" if history.range == "7d" else "%H:%M"
        moments = [time.strftime(fmt, time.localtime(p.t)) for p in history.points]
        per = {60: "min", 3600: "hour"}.get(history.step, f"{history.step // 60} min")
        self.chart.show_range(
            values, span=f"-{RANGES[history.range]}", unit=f" per {per}", moments=moments
        )

    def rate(self) -> float:
        return sum(self._recent) / max(1, len(self._recent))

    def _show_metrics(self) -> None:
        self.throughput.setText(f"throughput <b>{self.rate():.1f}</b>/s")
        if self._latencies:
            p50 = statistics.median(self._latencies)
            self.latency.setText(f"latency p50 <b>{_seconds(p50)}</b>")
        else:
            self.latency.setText("latency <b>—</b>")


def _seconds(value: float) -> str:
    """``850 ms``, ``12.5 s``, then ``3 h 47 min`` (a task that waited for hours)."""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s" if value < 60 else span(value)
