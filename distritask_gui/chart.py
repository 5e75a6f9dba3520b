"""The footer's chart: tasks finished over time, with axes and the value under the mouse.

Two kinds of series share it: the live one (tasks finished per second over the last
:data:`LIVE_POINTS` seconds, pushed every second) and a range loaded from the
per-minute history (``1h``, ``24h``, ``7d``: tasks finished per point). Drawn with
QPainter: QtCharts is not part of PySide6-Essentials.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from backend.protocol import TaskStatus
from distritask_gui import theme

LIVE_POINTS = 60
"""Seconds the live series covers."""


class ThroughputChart(QWidget):
    """An area chart of tasks finished, with its axes and a hover value.

    The top row holds the peak (right) and the hovered point's value (left); the plot
    never reaches into it, so the line never crosses a label.
    """

    LABEL_ROW = 14
    AXIS_WIDTH = 26
    TIME_ROW = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live: deque[float] = deque([0.0] * LIVE_POINTS, maxlen=LIVE_POINTS)
        self.values: Sequence[float] = self.live
        """The series shown: the live one, or a loaded range."""
        self.unit = "/s"
        self.span = f"-{LIVE_POINTS} s"
        self.moments: Sequence[str] = ()
        """What each loaded point's hover says about its time (empty: live seconds)."""
        self.hovered: int | None = None
        """The point under the mouse (0 = oldest), or ``None``."""
        self.setMinimumSize(QSize(200, 60))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self.setToolTip(f"Tasks finished per second, last {LIVE_POINTS} s (hover for a value)")

    @property
    def showing_live(self) -> bool:
        return self.values is self.live

    def push(self, value: float) -> None:
        """The live series' newest second."""
        self.live.append(value)
        if self.showing_live:
            self.update()

    def show_live(self) -> None:
        self.values, self.unit, self.span, self.moments = self.live, "/s", f"-{LIVE_POINTS} s", ()
        self.setToolTip(f"Tasks finished per second, last {LIVE_POINTS} s (hover for a value)")
        self.update()

    def show_range(
        self, values: Sequence[float], *, span: str, unit: str, moments: Sequence[str]
    ) -> None:
        """A loaded series: ``values`` oldest first, each point's hover time in ``moments``."""
        self.values = list(values) or [0.0]
        self.unit, self.span, self.moments = unit, span, list(moments)
        self.hovered = None
        self.setToolTip(f"Tasks finished {unit}, {span.lstrip('-')} (hover for a value)")
        self.update()

    def plot_rect(self) -> QRectF:
        return QRectF(self.rect()).adjusted(
            self.AXIS_WIDTH, self.LABEL_ROW + 2, -2, -(self.TIME_ROW + 2)
        )

    def _step(self, rect: QRectF) -> float:
        return rect.width() / max(1, len(self.values) - 1)

    def bucket_at(self, x: float) -> int | None:
        rect = self.plot_rect()
        if not rect.left() <= x <= rect.right() + 1:
            return None
        last = len(self.values) - 1
        return max(0, min(last, round((x - rect.left()) / self._step(rect))))

    def peak_text(self) -> str:
        """The top row's right label: the highest value shown (``peak 0/s`` when idle)."""
        return f"peak {max(self.values):g}{self.unit}"

    def hover_text(self) -> str:
        if self.hovered is None:
            return ""
        if self.moments:
            when = self.moments[self.hovered]
        else:
            ago = len(self.values) - 1 - self.hovered
            when = "now" if ago == 0 else f"{ago} s ago"
        return f"{self.values[self.hovered]:g}{self.unit} · {when}"

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
        top = max(max(self.values), 1.0)  # the scale: an idle minute has an axis 0 to 1
        self._paint_axes(painter, rect, top)
        step = self._step(rect)
        points = [
            QPointF(rect.left() + i * step, rect.bottom() - rect.height() * v / top)
            for i, v in enumerate(self.values)
        ]
        line = QPainterPath(points[0])
        for point in points[1:]:
            line.lineTo(point)
        area = QPainterPath(line)
        area.lineTo(QPointF(points[-1].x(), rect.bottom()))
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
        painter.drawText(labels, Qt.AlignmentFlag.AlignRight, self.peak_text())
        if self.hovered is not None and self.hovered < len(points):
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
        painter.drawText(times, Qt.AlignmentFlag.AlignLeft, self.span)
        painter.drawText(times, Qt.AlignmentFlag.AlignRight, "now")
