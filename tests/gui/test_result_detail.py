"""The detail dialog shows a completed task's result (and no result box otherwise)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from backend.protocol import StatusUpdate, TaskStatus, make_update
from backend.state import TaskState
from distritask_gui.task_detail import TaskDetail


def test_the_detail_dialog_shows_the_result_of_a_completed_task(qtbot: QtBot) -> None:
    state = TaskState(id="r1", name="echo", payload=[1, 2])
    state.apply(make_update("r1", TaskStatus.PENDING, worker="manager", attempt=1, seq=0))
    dialog = TaskDetail(state)
    qtbot.addWidget(dialog)
    assert dialog.result_view.isHidden() and dialog.result_title.isHidden()

    # the live completed update carries the result
    done = make_update("r1", TaskStatus.COMPLETED, worker="w1", attempt=1, seq=2)
    dialog.apply_update(StatusUpdate.model_validate({**done.model_dump(), "result": {"sum": 3}}))
    assert not dialog.result_view.isHidden()
    assert '"sum": 3' in dialog.result_view.toPlainText()

    # the broker's record has it too (a large result is only there)
    record = dialog.state.model_copy(update={"result": ["x" * 20]})
    dialog.load_record(record)
    assert "xxxxxxxxxxxxxxxxxxxx" in dialog.result_view.toPlainText()
