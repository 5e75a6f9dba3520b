"""How one task is drawn: a card painted by a delegate, not a widget per task.

The card shows the status icon in its colour, ``#`` and the first six characters of
the id, the time, the task name with its status label, the message, and a progress bar
with the real percentage the worker reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from backend.protocol import TaskStatus
from backend.state import TaskState
from distritask_gui import theme
from distritask_gui.task_model import TaskModel

CARD_HEIGHT = 108
SPACING = 8
PAD = 12
ICON = 18
RADIUS = 10.0


def short_id(task_id: str) -> str:
    return "#" + task_id[:6]


def reclaim_text(seconds: float) -> str:
    """What a running card on an offline worker says."""
    if seconds <= 0:
        return "Worker offline · being reclaimed"
    return f"Worker offline · reclaimed in {math.ceil(seconds)} s"


def _never() -> float | None:
    return None


class TaskCardDelegate(QStyledItemDelegate):
    """Paints a :class:`TaskState` (``TaskModel.StateRole``) as a card.

    ``reclaim_in`` tells, for a column whose worker is offline, the seconds until its
    running tasks are reclaimed: their cards say so and count down.
    """

    def __init__(
        self, parent: QObject | None = None, *, reclaim_in: Callable[[], float | None] = _never
    ) -> None:
        super().__init__(parent)
        self.reclaim_in = reclaim_in

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(max(200, option.rect.width()), CARD_HEIGHT + SPACING)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        state = index.data(TaskModel.StateRole)
        if not isinstance(state, TaskState):
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRect(option.rect)
        card = QRectF(rect.adjusted(1, 1, -1, -SPACING))
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        path = QPainterPath()
        path.addRoundedRect(card, RADIUS, RADIUS)
        painter.fillPath(path, theme.CARD_HOVER if hover or selected else theme.CARD)
        color = theme.STATUS_COLOR[state.status]
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(theme.FOCUS, 2))  # the keyboard's card
        else:
            painter.setPen(QPen(color.darker(160) if selected else theme.BORDER, 1))
        painter.drawPath(path)
        self._paint_content(painter, card.toRect(), state, option.font)
        painter.restore()

    def _paint_content(self, painter: QPainter, card: QRect, state: TaskState, base: QFont) -> None:
        color = theme.STATUS_COLOR[state.status]
        left, top = card.left() + PAD, card.top() + PAD
        width = card.width() - 2 * PAD
        icon = theme.pixmap(theme.STATUS_ICON[state.status], color.name(), ICON, 2.0)
        painter.drawPixmap(left, top, icon)

        mono = QFont("DejaVu Sans Mono", base.pointSize())
        mono.setBold(True)
        painter.setFont(mono)
        painter.setPen(theme.TEXT)
        line = QRect(left + ICON + 8, top, width - ICON - 8, ICON)
        painter.drawText(
            line, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, short_id(state.id)
        )
        small = QFont(base)
        small.setPointSizeF(base.pointSizeF() * 0.9)
        painter.setFont(small)
        painter.setPen(theme.FAINT)
        painter.drawText(
            line, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, state.time
        )

        top += ICON + 8
        bold = QFont(base)
        bold.setBold(True)
        label = theme.STATUS_LABEL[state.status]
        label_width = QFontMetrics(small).horizontalAdvance(label) + 4
        painter.setFont(bold)
        painter.setPen(theme.TEXT)
        name_rect = QRect(left, top, width - label_width - 6, 18)
        name = QFontMetrics(bold).elidedText(
            state.name, Qt.TextElideMode.ElideRight, name_rect.width()
        )
        painter.drawText(
            name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name
        )
        painter.setFont(small)
        painter.setPen(color)
        painter.drawText(
            QRect(left, top, width, 18),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            label,
        )

        top += 20
        painter.setPen(theme.MUTED)
        message = state.error if state.error and state.status.terminal else state.message
        if state.status is TaskStatus.PROCESSING and (left_s := self.reclaim_in()) is not None:
            painter.setPen(theme.RECONNECTING)
            message = reclaim_text(left_s)
        text = QFontMetrics(small).elidedText(message or "—", Qt.TextElideMode.ElideRight, width)
        painter.drawText(
            QRect(left, top, width, 16),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            text,
        )

        top += 24
        self._paint_progress(painter, QRect(left, top, width, 14), state.progress, color, small)

    @staticmethod
    def _paint_progress(
        painter: QPainter, rect: QRect, progress: int, color: object, font: QFont
    ) -> None:
        text = f"{progress}%"
        text_width = QFontMetrics(font).horizontalAdvance("100%") + 6
        track = QRectF(rect.left(), rect.center().y() - 2, rect.width() - text_width, 5)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.TRACK)
        painter.drawRoundedRect(track, 2.5, 2.5)
        if progress > 0:
            fill = QRectF(track)
            fill.setWidth(max(5.0, track.width() * min(progress, 100) / 100))
            painter.setBrush(color)
            painter.drawRoundedRect(fill, 2.5, 2.5)
        painter.setPen(theme.MUTED)
        painter.drawText(
            QRect(rect.right() - text_width, rect.top(), text_width, rect.height()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            text,
        )
