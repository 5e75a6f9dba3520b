"""The panel submits to a named queue and with a delay, and shows each queue's depth
(issue 12: queues and delays from the panel's Submit dialog)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QDateTime
from pytestqt.qtbot import QtBot

from backend.policy import MAX_DELAY
from backend.state import TaskState
from distritask_gui.submit_dialog import AFTER, AT, NOW, SubmitDialog
from distritask_gui.task_model import QUEUE
from tests.gui.conftest import Open, Run


def test_the_submit_dialog_gives_a_queue_and_a_delay(qtbot: QtBot) -> None:
    dialog = SubmitDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.routing() == ("default", 0.0)
    assert not dialog.delay.isVisible() and not dialog.at.isVisible()  # "now" needs neither
    dialog.queue.setText("no spaces allowed")
    assert not dialog.validate() and "queue" in dialog.error.text()
    dialog.queue.setText("high")
    dialog.when.setCurrentText(AFTER)
    assert dialog.delay.isVisible() and not dialog.at.isVisible()
    dialog.delay.setValue(30)
    assert dialog.validate() and dialog.routing() == ("high", 30.0)
    dialog.when.setCurrentText(NOW)
    assert dialog.routing() == ("high", 0.0)


def test_the_submit_dialog_gives_a_time_in_the_computers_zone(qtbot: QtBot) -> None:
    dialog = SubmitDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.when.setCurrentText(AT)
    assert dialog.at.isVisible() and not dialog.delay.isVisible()
    chosen = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    dialog.at.setDateTime(QDateTime.fromSecsSinceEpoch(int(chosen.timestamp())))
    assert dialog.validate()
    queue, at = dialog.routing()
    assert queue == "default" and isinstance(at, datetime)
    assert at.tzinfo is not None and at == chosen  # the same instant, whatever the zone
    too_far = chosen + timedelta(seconds=MAX_DELAY)
    dialog.at.setDateTime(QDateTime.fromSecsSinceEpoch(int(too_far.timestamp())))
    assert not dialog.validate() and "days ahead" in dialog.error.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()


def test_a_delayed_task_on_a_named_queue_is_scheduled_and_its_queue_shown(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    states: list[TaskState] = run_async(
        window.bridge.actions.submit_tasks("noop", None, 2, queue="high", delay=60)
    )
    assert all(s.queue == "high" and s.scheduled and s.due for s in states)
    queue = window.board.columns[QUEUE]
    qtbot.waitUntil(lambda: "high 0 +2 later" in queue.stats.text(), timeout=10_000)
    # the counts come from the broker's indexes, the card from the task's own update:
    # either may arrive first
    qtbot.waitUntil(lambda: window.tasks.state(states[0].id) is not None, timeout=10_000)
    card = window.tasks.state(states[0].id)
    assert card is not None and card.message.startswith("Scheduled for ")


def test_tasks_submitted_for_a_time_are_scheduled_for_it(
    redis_url: str, open_panel: Open, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).astimezone()
    window.header.submit_requested.emit("noop", None, 1, "default", at)  # as the dialog does
    qtbot.waitUntil(lambda: "to run at" in window.statusBar().currentMessage(), timeout=10_000)
    assert at.strftime("%H:%M:%S") in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: any(s.scheduled for s in window.tasks.states()), timeout=10_000)
    [card] = [s for s in window.tasks.states() if s.scheduled]
    assert card.due == at.timestamp() and card.message.startswith("Scheduled for ")
