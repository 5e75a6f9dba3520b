"""A column's list of cards, driven by the keyboard (see :class:`CardList`)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QListView


class CardList(QListView):
    """A column's list of cards, driven by the keyboard too: Up/Down move between
    cards, Left/Right ask for the neighbouring column (``step_requested``), Enter
    opens the current card (``activated``)."""

    step_requested = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.step_requested.emit(-1 if key == Qt.Key.Key_Left else 1)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        if not self.currentIndex().isValid() and self.model().rowCount() > 0:
            self.setCurrentIndex(self.model().index(0, 0))
        super().focusInEvent(event)
