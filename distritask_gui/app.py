"""Placeholder until the control panel lands: a minimal window."""

from __future__ import annotations

import argparse

from backend.config import Settings


def run(settings: Settings, args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([])
    label = QLabel("Distritask control panel: coming soon")
    label.show()
    return app.exec()
