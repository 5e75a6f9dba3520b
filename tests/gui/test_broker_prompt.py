"""Where no embedded server exists, the panel asks for a broker URL instead of failing."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from distritask_gui.app import ask_for_broker
from distritask_gui.settings_dialog import SettingsDialog, saved_url


def _dialogs() -> set[SettingsDialog]:
    return {w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog)}


def _asked(before: set[SettingsDialog]) -> SettingsDialog | None:
    """The prompt ``ask_for_broker`` opened (not a dialog an earlier test left)."""
    return next((w for w in _dialogs() - before if w.isVisible()), None)


def test_the_url_entered_and_tested_is_saved_and_used(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, redis_url: str
) -> None:
    before = _dialogs()
    asked = qloop.create_task(ask_for_broker())
    qtbot.waitUntil(lambda: _asked(before) is not None, timeout=5_000)
    dialog = _asked(before)
    assert dialog is not None
    dialog.url.setText(redis_url)
    dialog.test.click()
    qtbot.waitUntil(lambda: "answers" in dialog.status.text(), timeout=5_000)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    qtbot.waitUntil(asked.done, timeout=5_000)
    assert asked.result() == redis_url == saved_url()


def test_cancelling_the_prompt_gives_no_url(qloop: asyncio.AbstractEventLoop, qtbot: QtBot) -> None:
    before = _dialogs()
    asked = qloop.create_task(ask_for_broker())
    qtbot.waitUntil(lambda: _asked(before) is not None, timeout=5_000)
    dialog = _asked(before)
    assert dialog is not None
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    qtbot.waitUntil(asked.done, timeout=5_000)
    assert asked.result() is None
