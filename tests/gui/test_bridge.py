"""The bridge on the real embedded broker: snapshot, live updates, batching."""

from __future__ import annotations

from typing import Any

import redis
from pytestqt.qtbot import QtBot

from backend import keys
from backend.connection import client
from backend.protocol import StatusUpdate, Task, TaskStatus, encode_update, make_update
from backend.state import TaskState, encode_state
from backend.store import TaskStore
from distritask_gui.bridge import Bridge
from distritask_gui.task_model import TaskModel
from tests.gui.conftest import Run

TASKS = 12_000  # more than one snapshot batch (5,000)


def _record_running(url: str, run_async: Run[Any]) -> list[TaskState]:
    """TASKS tasks recorded as processing on w1 (as a worker records them)."""
    states = []
    changes = []
    for _ in range(TASKS):
        state = TaskState.from_task(Task(name="noop", max_retries=0))
        update = make_update(state.id, TaskStatus.PROCESSING, worker="w1", attempt=1, seq=1)
        state.apply(update)
        states.append(state)
        changes.append((state, update))

    async def record() -> None:
        redis_client = client(url)
        try:
            await TaskStore(redis_client, retention=TASKS).record(changes)
        finally:
            await redis_client.aclose()

    run_async(record())
    return states


def _complete(sync: redis.Redis, states: list[TaskState]) -> None:
    """Record and publish each task's completion, as a worker does."""
    with sync.pipeline(transaction=False) as pipe:
        for state in states:
            update = make_update(state.id, TaskStatus.COMPLETED, worker="w1", attempt=1, seq=2)
            done = state.model_copy(deep=True)
            done.apply(update)
            pipe.hset(keys.TASK_STATES, state.id, encode_state(done))
            pipe.publish(keys.UPDATES_CHANNEL, encode_update(update))
        pipe.execute()


def test_updates_published_while_the_snapshot_loads_count_once(
    redis_url: str, qloop: Any, qtbot: QtBot, run_async: Run[Any], sync_redis: redis.Redis
) -> None:
    states = _record_running(redis_url, run_async)
    bridge = Bridge(redis_url)
    model = TaskModel()
    batches: list[int] = []
    bridge.snapshot_loaded.connect(model.feed)
    bridge.updates_received.connect(model.feed)
    bridge.updates_received.connect(lambda updates: batches.append(len(updates)))

    completed: list[bool] = []

    def complete_all_once(_: list[TaskState]) -> None:
        if not completed:
            completed.append(True)
            _complete(sync_redis, states)  # while the rest of the snapshot loads

    bridge.snapshot_loaded.connect(complete_all_once)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: sum(batches) == TASKS, timeout=30_000)
        model.flush()
        # every completion counted once, whether read from the snapshot or live
        assert model.totals() == {TaskStatus.COMPLETED: TASKS} and model.rowCount() == TASKS
        assert model.column_counts("w1") == {TaskStatus.COMPLETED: TASKS}
        assert len(batches) <= TASKS // 10  # in batches, not one signal per update
    finally:
        run_async(bridge.stop())


def test_a_burst_of_live_updates_arrives_in_order_in_a_few_batches(
    redis_url: str, qloop: Any, qtbot: QtBot, run_async: Run[Any], sync_redis: redis.Redis
) -> None:
    bridge = Bridge(redis_url)
    received: list[list[StatusUpdate]] = []
    bridge.updates_received.connect(received.append)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: bridge.state == "connected", timeout=10_000)
        updates = [
            make_update("burst", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=i)
            for i in range(3000)
        ]
        with sync_redis.pipeline(transaction=False) as pipe:
            for update in updates:
                pipe.publish(keys.UPDATES_CHANNEL, encode_update(update))
            pipe.publish(keys.UPDATES_CHANNEL, "not json")  # skipped, the rest still come
            pipe.execute()
        qtbot.waitUntil(lambda: sum(map(len, received)) == len(updates), timeout=10_000)
        assert [u.seq for batch in received for u in batch] == list(range(3000))
        assert len(received) <= len(updates) // 10  # in batches, not one per update
    finally:
        run_async(bridge.stop())
