"""The panel's look in one place: status colours and labels, the stylesheet, icons.

Icons are the SVG files in ``resources/icons`` drawn with ``stroke="currentColor"``;
:func:`pixmap` renders one in a given colour (cached), so one file serves every status.
Resources are found next to the package in a checkout and under ``sys._MEIPASS`` in a
PyInstaller bundle.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QByteArray, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QAbstractSpinBox, QDialogButtonBox, QLineEdit

from backend.protocol import TaskStatus

BACKGROUND = QColor("#09090b")
CARD = QColor("#111114")
CARD_HOVER = QColor("#18181b")
BORDER = QColor("#27272a")
TEXT = QColor("#fafafa")
MUTED = QColor("#a1a1aa")
FAINT = QColor("#71717a")
TRACK = QColor("#27272a")
ONLINE = QColor("#22c55e")
OFFLINE = QColor("#ef4444")
RECONNECTING = QColor("#f59e0b")
FOCUS = QColor("#3b82f6")

STATUS_COLOR = {
    TaskStatus.PENDING: QColor("#f59e0b"),
    TaskStatus.PROCESSING: QColor("#3b82f6"),
    TaskStatus.RETRYING: QColor("#a855f7"),
    TaskStatus.COMPLETED: QColor("#22c55e"),
    TaskStatus.FAILED: QColor("#ef4444"),
    TaskStatus.CANCELLED: QColor("#71717a"),
}
STATUS_ICON = {
    TaskStatus.PENDING: "clock",
    TaskStatus.PROCESSING: "loader",
    TaskStatus.RETRYING: "rotate",
    TaskStatus.COMPLETED: "check",
    TaskStatus.FAILED: "x-circle",
    TaskStatus.CANCELLED: "ban",
}
STATUS_LABEL = {
    TaskStatus.PENDING: "Queued",
    TaskStatus.PROCESSING: "In Progress",
    TaskStatus.RETRYING: "Retrying",
    TaskStatus.COMPLETED: "Task Finalized",
    TaskStatus.FAILED: "Failed",
    TaskStatus.CANCELLED: "Cancelled",
}


def resources_dir() -> Path:
    """Where ``resources/`` is: in the bundle when frozen, installed as
    ``distritask_gui/resources`` (see pyproject), or at the top of a checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    here = Path(__file__).resolve().parent
    installed = here / "resources"
    return installed if installed.is_dir() else here.parent / "resources"


def stylesheet() -> str:
    """The stylesheet, with ``{icons}`` standing for the icons' directory."""
    try:
        text = (resources_dir() / "style.qss").read_text(encoding="utf-8")
    except OSError:
        return ""  # unstyled beats not starting
    return text.replace("{icons}", (resources_dir() / "icons").as_posix())


@cache
def _svg(name: str) -> str:
    try:
        return (resources_dir() / "icons" / f"{name}.svg").read_text(encoding="utf-8")
    except OSError:
        return ""


@cache
def pixmap(name: str, color: str, size: int, ratio: float = 1.0) -> QPixmap:
    """The icon ``name`` drawn in ``color`` at ``size`` logical pixels (empty if missing)."""
    pix = QPixmap(int(size * ratio), int(size * ratio))
    pix.fill(Qt.GlobalColor.transparent)
    pix.setDevicePixelRatio(ratio)
    svg = _svg(name).replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    if renderer.isValid():
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
    return pix


def icon(name: str, color: QColor = TEXT, size: int = 16) -> QIcon:
    return QIcon(pixmap(name, color.name(), size, 2.0))


def app_icon() -> QIcon:
    path = resources_dir() / "icons" / "distritask.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


BUTTON_ICONS = {
    QDialogButtonBox.StandardButton.Close: "x",
    QDialogButtonBox.StandardButton.Cancel: "x",
    QDialogButtonBox.StandardButton.Ok: "check-plain",
    QDialogButtonBox.StandardButton.Save: "save",
}


def flat_buttons(box: QDialogButtonBox) -> QDialogButtonBox:
    """``box`` with the theme's light icons instead of the platform's stock ones
    (which can be black on this dark background)."""
    for which, name in BUTTON_ICONS.items():
        button = box.button(which)
        if button is not None:
            button.setIcon(icon(name, BACKGROUND if button.objectName() == "deploy" else TEXT))
    return box


W = TypeVar("W", bound=QObject)
S = TypeVar("S", bound=QAbstractSpinBox)

SPIN_TEXT_INDENT = 6
"""Pixels a spin box's text is indented by, so it starts where a line edit's does."""


def spin_box(box: S) -> S:
    """``box`` with its text where a line edit's is. The stylesheet's padding does not
    move a spin box's own editor (its text sat 6 px left of the line edits' beside
    it), so the editor's text margin is set here."""
    editor = box.findChild(QLineEdit)
    if editor is not None:
        editor.setTextMargins(SPIN_TEXT_INDENT, 0, 0, 0)
    return box


def named(widget: W, name: str) -> W:
    """``widget`` with its object name set (what the stylesheet selects on)."""
    widget.setObjectName(name)
    return widget
