"""The "Local cluster…" dialog: how many local workers, and how many tasks each runs."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from distritask_gui import theme

MAX_WORKERS = 64
MAX_CONCURRENCY = 1000


class ClusterDialog(QDialog):
    """Two spin boxes; OK emits ``scale_requested(workers, concurrency)``. Fewer workers
    drain the surplus ones; a new concurrency replaces every worker (drained)."""

    scale_requested = Signal(int, int)

    def __init__(self, workers: int, concurrency: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Local cluster")
        self.setMinimumWidth(360)
        note = theme.named(
            QLabel(
                "The workers this panel runs on this computer. Workers taken away "
                "finish their tasks first; a new concurrency restarts each worker "
                "the same way."
            ),
            "note",
        )
        note.setWordWrap(True)
        self.workers = theme.spin_box(QSpinBox())
        self.workers.setRange(0, MAX_WORKERS)
        self.workers.setValue(workers)
        self.workers.setToolTip("Worker processes this panel runs; fewer drains the surplus")
        self.concurrency = theme.spin_box(QSpinBox())
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(concurrency)
        self.concurrency.setToolTip(
            "Tasks each worker runs at once; a change replaces every worker (drained first)"
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Apply")
        ok.setObjectName("deploy")
        theme.flat_buttons(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow("Workers", self.workers)
        form.addRow("Concurrency", self.concurrency)
        form.addRow(buttons)

    def accept(self) -> None:
        self.scale_requested.emit(self.workers.value(), self.concurrency.value())
        super().accept()
