"""The panel's alerts: thresholds set in the settings dialog, an alert shown in the
list and in the banner (no system tray offscreen), then resolved."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from backend.alerts import Thresholds
from distritask_gui.alert_settings import saved_thresholds
from distritask_gui.window import MainWindow
from tests.gui.conftest import Open


def save_memory_threshold(window: MainWindow, mib: float) -> None:
    dialog = window.open_settings()
    assert dialog.alert_form is not None
    dialog.alert_form.memory.setValue(mib)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_an_alert_shows_in_the_list_and_banner_then_resolves(
    open_panel: Open, redis_url: str, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    window.bridge.alerts.watch.every = 0.2
    model, banner = window.alerts, window.alert_banner
    assert model.rowCount() == 0
    dialog = window.open_settings()
    assert dialog.alert_form is not None  # 0, the default, says what it means
    assert dialog.alert_form.memory.text() == "90 % of maxmemory"
    dialog.reject()
    save_memory_threshold(window, 0.1)  # far below what any server uses
    assert saved_thresholds(Thresholds(), QSettings()).memory_bytes == int(0.1 * 2**20)

    qtbot.waitUntil(lambda: len(model.active()) == 1, timeout=15_000)
    (alert,) = model.active()
    assert alert.kind == "memory" and alert.subject == "broker"
    text = model.data(model.index(0))
    assert "memory" in text and "resolved" not in text
    if not QSystemTrayIcon.isSystemTrayAvailable():
        assert banner.isVisible() and "memory" in banner.text.text()
    tabs = window.console
    assert tabs.tabText(tabs.indexOf(window.alerts_view)) == "Alerts"

    save_memory_threshold(window, 100_000)
    qtbot.waitUntil(lambda: not model.active(), timeout=15_000)
    assert model.rowCount() == 1  # the same alert, now resolved, raised once
    assert "resolved" in model.data(model.index(0)) and model.alerts[0].times == 1
    assert not banner.isVisible()


def test_activating_an_alert_asks_for_what_it_concerns(qtbot: QtBot) -> None:
    from backend.alerts import Alert, AlertEvent, AlertKind
    from distritask_gui.alerts_view import AlertModel, AlertsView

    model = AlertModel()
    view = AlertsView(model)
    qtbot.addWidget(view)
    dead = Alert(
        id="a1",
        kind=AlertKind.DEAD_LETTER,
        subject="task-1",
        subject_kind="task",
        message="task task-1 was dead-lettered: boom",
        fired=0.0,
        notified=0.0,
    )
    model.apply(AlertEvent("fired", dead))
    with qtbot.waitSignal(view.subject_requested) as asked:
        view.list.activated.emit(model.index(0))
    assert asked.args == ["task", "task-1"]
