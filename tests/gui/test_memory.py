"""Settling memory (gc.freeze) happens outside the model's flush, from the window."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from backend.protocol import TaskStatus
from backend.state import TaskState
from distritask_gui.memory import Settler
from distritask_gui.task_model import TaskModel


def test_memory_is_settled_after_a_flush_not_inside_it(qtbot: QtBot) -> None:
    model = TaskModel()
    settler = Settler(model, every=100)
    model.feed(TaskState(id=f"t{i}", status=TaskStatus.COMPLETED) for i in range(250))
    model.flush()
    assert settler.settled == 0  # not from inside the flush
    qtbot.waitUntil(lambda: settler.settled == 1, timeout=2000)
    model.feed(TaskState(id=f"u{i}", status=TaskStatus.COMPLETED) for i in range(50))
    model.flush()
    model.feed(TaskState(id=f"v{i}", status=TaskStatus.COMPLETED) for i in range(60))
    model.flush()  # 110 since the last settle
    qtbot.waitUntil(lambda: settler.settled == 2, timeout=2000)
