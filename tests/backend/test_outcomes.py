"""Outcomes against the real server: a late write never undoes a newer attempt, each
outcome counts once, a retry keeps the timeline, and Go updates get recorded."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from backend import keys
from backend.protocol import Task, TaskStatus, decode_update
from backend.state import TaskState
from backend.store import TaskStore
from backend.worker.running import Running
from tests.go_peers import go_update

COUNT = 1000


def _run(stored: TaskState, attempt: int, worker: str) -> list[tuple[Running, bytes]]:
    """A worker's processing and completed writes for ``attempt`` (state JSON each)."""
    state = Running.from_state(stored)
    writes = []
    for seq, status in enumerate((TaskStatus.PROCESSING, TaskStatus.COMPLETED), start=1):
        state.advance(status, "m", worker=worker, attempt=attempt, seq=seq, name="noop")
        writes.append((state, state.json()))
    return writes


async def _write(store: TaskStore, writes: dict[str, bytes]) -> None:
    await store.write([], writes, {})


async def test_a_late_write_of_attempt_1_never_undoes_attempt_2(store: TaskStore) -> None:
    states = await store.submit([Task(name="noop") for _ in range(COUNT)])
    late = {s.id: _run(s, 1, "stalled")[1][1] for s in states}  # held in an outbox
    second = {s.id: _run(s, 2, "other") for s in states}
    await _write(store, {i: w[0][1] for i, w in second.items()})
    await _write(store, {i: w[1][1] for i, w in second.items()})
    await _write(store, late)  # the outage ends
    stored = await store.load_all()
    assert {(s.status, s.attempt, s.worker) for s in stored.values()} == {
        (TaskStatus.COMPLETED, 2, "other")
    }
    assert (await store.counters())["completed"] == COUNT


async def test_each_task_counts_one_outcome_however_the_writes_interleave(
    store: TaskStore,
) -> None:
    states = await store.submit([Task(name="noop") for _ in range(COUNT)])
    first = {s.id: _run(s, 1, "stalled")[1][1] for s in states}
    second = {s.id: _run(s, 2, "other") for s in states}
    await _write(store, first)  # attempt 1's outcome lands first this time
    await _write(store, {i: w[0][1] for i, w in second.items()})  # then 2 starts
    await _write(store, {i: w[1][1] for i, w in second.items()})
    await _write(store, first)  # and a duplicate of 1's write
    stored = await store.load_all()
    assert {s.status for s in stored.values()} == {TaskStatus.COMPLETED}
    assert (await store.counters())["completed"] == COUNT


async def test_a_retry_keeps_created_and_continues_the_timeline(store: TaskStore) -> None:
    [state] = await store.submit([Task(name="fail", max_retries=0)])
    for attempt in (1, 2, 3):
        current = await store.get(state.id)
        assert current is not None
        running = Running.from_state(current)
        running.advance(TaskStatus.PROCESSING, "m", worker="w", attempt=attempt, seq=1, name="fail")
        running.advance(TaskStatus.FAILED, "x", worker="w", attempt=attempt, seq=2, name="fail")
        await _write(store, {state.id: running.json()})
        failed = await store.get(state.id)
        assert failed is not None and failed.status is TaskStatus.FAILED
        if attempt < 3:
            await store.requeue(failed)
    final = await store.get(state.id)
    assert final is not None
    assert final.created == state.created and final.attempt == 3
    rows = [(h.status.value, h.attempt) for h in final.history]
    assert rows == [
        ("pending", 1),
        ("processing", 1),
        ("failed", 1),
        ("pending", 2),
        ("processing", 2),
        ("failed", 2),
        ("pending", 3),
        ("processing", 3),
        ("failed", 3),
    ]


async def test_a_go_task_is_recorded_indexed_and_counted_once(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    updates = [
        go_update("go-1", "pending", "manager", "Task accepted and waiting in queue"),
        go_update("go-1", "processing", "worker-2", "Allocating resources"),
        go_update("go-1", "completed", "worker-2", "Task execution finalized successfully"),
    ]
    for raw in updates:
        for _ in range(2):  # two recorders (say the manager and the dashboard)
            await store.record_seen(decode_update(raw))
    assert await store.record_seen(decode_update(updates[1])) is None  # late: dropped
    stored = await store.get("go-1")
    assert stored is not None and stored.status is TaskStatus.COMPLETED
    assert stored.progress == 100 and stored.latency is not None
    assert [h.status.value for h in stored.history] == ["pending", "processing", "completed"]
    assert await aredis.zscore(keys.TASK_INDEX, "go-1") is not None
    counters = await store.counters()
    assert counters["submitted"] == 1 and counters["completed"] == 1
    [go] = [w for w in await store.workers() if w.name == "worker-2"]
    assert (go.kind, go.heartbeat, go.online) == ("go", False, True)


async def test_a_go_completion_of_a_task_we_queued_is_recorded(store: TaskStore) -> None:
    [state] = await store.submit([Task(name="noop")])
    raw = go_update(state.id, "completed", "worker-1", "Task execution finalized successfully")
    recorded = await store.record_seen(decode_update(raw))
    assert recorded is not None and recorded.attempt == 1
    stored = await store.get(state.id)
    assert stored is not None and stored.status is TaskStatus.COMPLETED
    assert (await store.counters())["completed"] == 1


async def test_a_task_first_seen_in_a_write_is_indexed(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    """A Go manager's task run by our worker: its first state comes from the worker."""
    running = Running.from_task(Task(id="from-go", name="ExampleTask"))
    running.advance(TaskStatus.PROCESSING, "m", worker="w", attempt=1, seq=1, name="ExampleTask")
    await _write(store, {"from-go": running.json()})
    assert await aredis.zscore(keys.TASK_INDEX, "from-go") is not None
    assert "from-go" in await store.newest_ids(10)


async def test_go_workers_long_gone_are_forgotten(store: TaskStore, aredis: aioredis.Redis) -> None:
    await aredis.hset(keys.SEEN_WORKERS, mapping={"worker-1": time.time(), "worker-9": 1.0})
    assert [w.name for w in await store.workers()] == ["worker-1"]
    assert await store.forget_stale_workers() == 1
    assert await aredis.hkeys(keys.SEEN_WORKERS) == [b"worker-1"]


async def test_retrying_a_go_task_continues_its_timeline(store: TaskStore) -> None:
    raw = go_update("go-2", "pending", "manager", "Task accepted and waiting in queue")
    await store.record_seen(decode_update(raw))
    cancelled = await store.request_cancel("go-2")
    assert cancelled is not None and cancelled.status is TaskStatus.CANCELLED
    again = await store.requeue(cancelled)
    assert again.attempt == 2 and again.created == cancelled.created
    assert [h.status.value for h in again.history] == ["pending", "cancelled", "pending"]
