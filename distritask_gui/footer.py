"""The footer: totals by status, throughput, latency and a live throughput chart.

Throughput counts tasks that reached a terminal state while the panel watched (not
those loaded from the snapshot), in one-second buckets; the chart shows the last
:data:`HISTORY` seconds, drawn with QPainter (QtCharts is not part of
PySide6-Essentials).
"""

from __future__ import annotations

import statistics
from collections import Counter, deque

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from backend.protocol import TaskStatus
from distritask_gui import theme

HISTORY = 60
WINDOW = 5
"""Seconds the shown throughput averages over."""
LATENCIES = 200


class ThroughputChart(QWidget):
    """A small area chart of tasks finished per second."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: deque[float] = deque([0.0] * HISTORY, maxlen=HISTORY)
        self.setMinimumSize(QSize(220, 44))

    def push(self, value: float) -> None:
        self.values.append(value)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 4, -1, -2)
        painter.setPen(QPen(theme.BORDER, 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        top = max(max(self.values), 1.0)
        step = rect.width() / (HISTORY - 1)
        points = [
            QPointF(rect.left() + i * step, rect.bottom() - rect.height() * v / top)
            for i, v in enumerate(self.values)
        ]
        line = QPainterPath(points[0])
        for point in points[1:]:
            line.lineTo(point)
        area = QPainterPath(line)
        area.lineTo(rect.bottomRight())
        area.lineTo(rect.bottomLeft())
        area.closeSubpath()
        green = theme.STATUS_COLOR[TaskStatus.COMPLETED]
        fade = QLinearGradient(rect.topLeft(), rect.bottomLeft())
        fill = QColor(green)
        fill.setAlpha(90)
        fade.setColorAt(0, fill)
        fill.setAlpha(0)
        fade.setColorAt(1, fill)
        painter.fillPath(area, fade)
        painter.setPen(QPen(green, 1.6))
        painter.drawPath(line)
        painter.setPen(theme.FAINT)
        painter.drawText(
            rect.adjusted(4, 0, -4, 0),
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
            f"peak {top:g}/s",
        )
        painter.end()


class Footer(QFrame):
    """Call :meth:`set_totals` after each batch and :meth:`add_finished` with latencies."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("footer")
        self._bucket = 0
        self._recent: deque[int] = deque(maxlen=WINDOW)
        self._latencies: deque[float] = deque(maxlen=LATENCIES)
        self.totals: dict[TaskStatus, QLabel] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 10, 20, 10)
        row.setSpacing(18)
        for status in TaskStatus:
            label = theme.named(QLabel(), "total")
            label.setTextFormat(Qt.TextFormat.RichText)
            self.totals[status] = label
            row.addWidget(label)
        row.addStretch(1)
        self.throughput = theme.named(QLabel(), "metric")
        self.latency = theme.named(QLabel(), "metric")
        self.chart = ThroughputChart(self)
        row.addWidget(self.throughput)
        row.addWidget(self.latency)
        row.addWidget(self.chart)
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
        """Close this second's bucket (every second)."""
        self._recent.append(self._bucket)
        self.chart.push(float(self._bucket))
        self._bucket = 0
        self._show_metrics()

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
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
