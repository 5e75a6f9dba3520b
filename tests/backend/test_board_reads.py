"""The board's bounded reads (``TaskStore.board``, ``board_counts``): a few states per
column and the counts of every retained task, from the indexes."""

from __future__ import annotations

from backend.protocol import StatusUpdate, Task, TaskStatus
from backend.state import TaskState
from backend.store import TaskStore
from tests.changes import advance


async def _fill(store: TaskStore) -> dict[str, list[str]]:
    """30 waiting tasks, 12 run by w1 (2 failed), 3 by w2 (1 still running)."""
    await store.ensure_group()
    states = await store.submit([Task(name="noop") for _ in range(45)])
    changes: list[tuple[TaskState, StatusUpdate]] = []
    for i, state in enumerate(states[30:]):
        worker = "w1" if i < 12 else "w2"
        status = TaskStatus.FAILED if i < 2 else TaskStatus.COMPLETED
        if i == 14:
            status = TaskStatus.PROCESSING
        changes.append(advance(state, status, worker=worker, attempt=1))
    await store.record(changes)
    ids = [s.id for s in states]
    return {"waiting": ids[:30], "w1": ids[30:42], "w2": ids[42:], "running": ids[44:]}


async def check_board(store: TaskStore) -> None:
    made = await _fill(store)
    board = await store.board(shown=5)
    assert board.counts.statuses == {
        TaskStatus.PENDING: 30,
        TaskStatus.PROCESSING: 1,
        TaskStatus.RETRYING: 0,
        TaskStatus.COMPLETED: 12,
        TaskStatus.FAILED: 2,
        TaskStatus.CANCELLED: 0,
    }
    assert board.counts.workers["w1"] == 12 and board.counts.workers["w2"] == 3
    assert board.counts.ended == {
        "w1": {TaskStatus.FAILED: 2, TaskStatus.CANCELLED: 0},
        "w2": {TaskStatus.FAILED: 0, TaskStatus.CANCELLED: 0},
    }
    read = [s.id for s in board.states]
    assert len(read) == len(set(read))
    waiting = [i for i in read if i in made["waiting"]]
    assert waiting == made["waiting"][:5]  # the queue's oldest
    assert {i for i in read if i in made["w1"]} == set(made["w1"][-5:])  # a worker's newest
    assert set(made["w2"]) <= set(read) and set(made["running"]) <= set(read)
    assert len(read) == 5 + 5 + 3

    polled = await store.board_counts(shown=5)
    assert polled.counts.statuses == board.counts.statuses
    assert polled.counts.workers == board.counts.workers and polled.counts.ended == {}
    assert [s.id for s in polled.states] == made["waiting"][:5]  # no worker columns


async def test_the_board_reads_each_columns_top_and_counts_the_rest(store: TaskStore) -> None:
    await check_board(store)
