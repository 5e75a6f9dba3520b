"""The footer: totals by status, throughput, latency and a live throughput chart.

Throughput counts tasks that reached a terminal state while the panel watched (not
those loaded from the snapshot), in one-second buckets; the chart shows the last
:data:`HISTORY` seconds with its axes and the value under the mouse, drawn with
QPainter (QtCharts is not part of PySide6-Essentials).
"""

from __future__ import annotations

import statistics
from collections import Counter, deque

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from backend.protocol import TaskStatus
from distritask_gui import theme

HISTORY = 60
WINDOW = 5
"""Seconds the shown throughput averages over."""
LATENCIES = 200


class ThroughputChart(QWidget):
    """An area chart of tasks finished per second, with its axes and a hover value.

    The top row holds the peak (right) and the hovered second's value (left); the
    plot never reaches into it, so the line never crosses a label.
    """

    LABEL_ROW = 14
    AXIS_WIDTH = 26
    TIME_ROW = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: deque[float] = deque([0.0] * HISTORY, maxlen=HISTORY)
        self.hovered: int | None = None
        """The bucket under the mouse (0 = oldest), or ``None``."""
        self.setMinimumSize(QSize(200, 60))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self.setToolTip(f"Tasks finished per second, last {HISTORY} s (hover for a value)")

    def push(self, value: float) -> None:
        self.values.append(value)
        self.update()

    def plot_rect(self) -> QRectF:
        return QRectF(self.rect()).adjusted(
            self.AXIS_WIDTH, self.LABEL_ROW + 2, -2, -(self.TIME_ROW + 2)
        )

    def bucket_at(self, x: float) -> int | None:
        rect = self.plot_rect()
        if not rect.left() <= x <= rect.right() + 1:
            return None
        step = rect.width() / (HISTORY - 1)
        return max(0, min(HISTORY - 1, round((x - rect.left()) / step)))

    def hover_text(self) -> str:
        if self.hovered is None:
            return ""
        ago = HISTORY - 1 - self.hovered
        when = "now" if ago == 0 else f"{ago} s ago"
        return f"{self.values[self.hovered]:g}/s · {when}"

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hovered = self.bucket_at(event.position().x())
        if hovered != self.hovered:
            self.hovered = hovered
            self.update()

    def leaveEvent(self, event: QEvent) -> None:
        self.hovered = None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.plot_rect()
        top = max(max(self.values), 1.0)
        self._paint_axes(painter, rect, top)
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
        labels = QRectF(rect.left(), 0, rect.width(), self.LABEL_ROW)
        painter.setPen(theme.FAINT)
        painter.drawText(labels, Qt.AlignmentFlag.AlignRight, f"peak {top:g}/s")
        if self.hovered is not None:
            point = points[self.hovered]
            painter.setPen(QPen(theme.MUTED, 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(point.x(), rect.top()), QPointF(point.x(), rect.bottom()))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(green)
            painter.drawEllipse(point, 3, 3)
            painter.setPen(theme.TEXT)
            painter.drawText(labels, Qt.AlignmentFlag.AlignLeft, self.hover_text())
        painter.end()

    def _paint_axes(self, painter: QPainter, rect: QRectF, top: float) -> None:
        painter.setPen(QPen(theme.BORDER, 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.drawLine(rect.bottomLeft(), rect.topLeft())
        font = painter.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        painter.setPen(theme.FAINT)
        axis = self.AXIS_WIDTH - 4
        right = Qt.AlignmentFlag.AlignRight
        painter.drawText(
            QRectF(0, rect.top() - 6, axis, 12), right | Qt.AlignmentFlag.AlignVCenter, f"{top:g}"
        )
        painter.drawText(
            QRectF(0, rect.bottom() - 6, axis, 12), right | Qt.AlignmentFlag.AlignVCenter, "0"
        )
        times = QRectF(rect.left(), rect.bottom() + 1, rect.width(), self.TIME_ROW + 1)
        painter.drawText(times, Qt.AlignmentFlag.AlignLeft, f"-{HISTORY} s")
        painter.drawText(times, Qt.AlignmentFlag.AlignRight, "now")


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
        row.addLayout(metrics)
        row.addWidget(self.chart, 2)
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
