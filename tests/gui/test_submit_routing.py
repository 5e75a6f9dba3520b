"""The panel submits to a named queue and with a delay, and shows each queue's depth
(issue 12: queues and delays from the panel's Submit dialog)."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from backend.state import TaskState
from distritask_gui.submit_dialog import SubmitDialog
from distritask_gui.task_model import QUEUE
from tests.gui.conftest import Open, Run


def test_the_submit_dialog_gives_a_queue_and_a_delay(qtbot: QtBot) -> None:
    dialog = SubmitDialog()
    qtbot.addWidget(dialog)
    assert dialog.routing() == ("default", 0.0)
    dialog.queue.setText("no spaces allowed")
    assert not dialog.validate() and "queue" in dialog.error.text()
    dialog.queue.setText("high")
    dialog.delay.setValue(30)
    assert dialog.validate() and dialog.routing() == ("high", 30.0)


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
