"""The board applies updates by the one rule: Go updates land, late ones never regress."""

from __future__ import annotations

from backend.manager.board import Board
from backend.protocol import StatusUpdate, Task, TaskStatus, decode_update, make_update
from backend.state import queued


def _go(task_id: str, status: TaskStatus, worker: str = "worker-1") -> StatusUpdate:
    return decode_update(
        f'{{"id":"{task_id}","status":"{status.value}","time":"12:00:00",'
        f'"worker":"{worker}","message":"m"}}'
    )


def test_a_go_completion_lands_on_a_task_we_queued() -> None:
    board = Board()
    state, pending = queued(Task(id="t", name="noop"))
    board.load([state])
    board.apply(_go("t", TaskStatus.PROCESSING))
    board.apply(_go("t", TaskStatus.COMPLETED))
    board.apply(pending)  # a late copy of the pending: same attempt, lower rank
    assert board.entries["t"].status is TaskStatus.COMPLETED
    assert board.by_status()["completed"] == 1 and board.by_status()["pending"] == 0
    figures = board.last_minute()
    assert figures["completed"] == 1 and figures["latency"]["max"] is not None


def test_a_snapshot_never_undoes_a_newer_update() -> None:
    board = Board()
    state, _ = queued(Task(id="t", name="noop"))
    board.apply(make_update("t", TaskStatus.COMPLETED, worker="w1", attempt=1, seq=3))
    board.load([state])
    assert board.entries["t"].status is TaskStatus.COMPLETED
    assert board.select(status=TaskStatus.COMPLETED) == (1, ["t"])
