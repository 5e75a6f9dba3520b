"""The queue and state store against the real server."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.asyncio as aioredis

from backend import keys
from backend.connection import client
from backend.live import status_updates
from backend.protocol import Task, TaskStatus, WorkerInfo, decode_task, make_update
from backend.store import SUBMIT_BATCH, TaskStore
from tests.waiting import eventually


async def test_submit_records_pending_queues_and_announces(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    updates = status_updates(aredis)
    first = asyncio.ensure_future(anext(updates))

    async def subscribed() -> bool:
        return bool((await aredis.pubsub_numsub(keys.UPDATES_CHANNEL))[0][1])

    await eventually(subscribed)
    [state] = await store.submit([Task(name="noop", payload={"n": 1})])
    announced = await asyncio.wait_for(first, 5)
    await updates.aclose()
    assert announced.id == state.id and announced.status is TaskStatus.PENDING
    assert announced.worker == "manager"
    stored = await store.get(state.id)
    assert stored is not None and stored.status is TaskStatus.PENDING
    [(_, [(_, fields)])] = await aredis.xread({keys.TASK_STREAM: "0"})
    assert decode_task(fields[keys.TASK_FIELD.encode()]).payload == {"n": 1}
    assert (await store.counters())["submitted"] == 1


async def test_a_large_submit_queues_every_task_in_order(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    count = SUBMIT_BATCH * 2 + 7
    states = await store.submit([Task(name="noop", payload=i) for i in range(count)])
    entries = await aredis.xrange(keys.TASK_STREAM)
    queued = [decode_task(fields[keys.TASK_FIELD.encode()]) for _, fields in entries]
    assert [task.id for task in queued] == [state.id for state in states]
    assert [task.payload for task in queued] == list(range(count))
    assert len(await store.load_all()) == count
    assert await aredis.zcard(keys.TASK_INDEX) == count
    assert (await store.counters())["submitted"] == count


async def test_record_updates_state_and_counters(store: TaskStore) -> None:
    [state] = await store.submit([Task(name="noop")])
    update = make_update(state.id, TaskStatus.COMPLETED, worker="w", attempt=1, seq=1)
    state.apply(update)
    await store.record([(state, update)])
    stored = await store.get(state.id)
    assert stored is not None and stored.status is TaskStatus.COMPLETED
    assert stored.progress == 100
    assert (await store.counters())["completed"] == 1


async def test_snapshot_returns_every_state(store: TaskStore) -> None:
    tasks = [Task(name="noop") for _ in range(1200)]
    for start in range(0, len(tasks), 500):
        await store.submit(tasks[start : start + 500])
    states = await store.load_all()
    assert set(states) == {task.id for task in tasks}


def _aged(count: int) -> list[Task]:
    """``count`` tasks created one second apart, oldest first."""
    start = datetime.now(UTC) - timedelta(seconds=count)
    return [Task(name="noop", created_at=start + timedelta(seconds=i)) for i in range(count)]


async def test_trim_drops_exactly_the_oldest_beyond_the_retention(
    aredis: aioredis.Redis,
) -> None:
    tasks = _aged(150)
    await TaskStore(aredis, retention=1000).submit(tasks)  # kept whole: under its retention
    store = TaskStore(aredis, retention=100)
    assert await store.trim() == 50
    assert set(await store.load_all()) == {task.id for task in tasks[50:]}
    assert await aredis.zcard(keys.TASK_INDEX) == 100
    assert await store.trim() == 0  # nothing left beyond the retention


async def test_submitting_past_the_retention_trims_the_oldest(aredis: aioredis.Redis) -> None:
    store = TaskStore(aredis, retention=100)
    tasks = _aged(150)
    for task in tasks:
        await store.submit([task])
    states = await store.load_all()
    assert 100 <= len(states) <= 110  # trimmed back to 100 each time it passes 110
    assert tasks[-1].id in states and tasks[0].id not in states


async def test_cancel_marks_a_pending_task_cancelled(store: TaskStore) -> None:
    [state] = await store.submit([Task(name="sleep")])
    cancelled = await store.request_cancel(state.id)
    assert cancelled is not None and cancelled.status is TaskStatus.CANCELLED
    assert await store.is_cancelled(state.id)
    assert await store.request_cancel("no-such-task") is None


async def test_requeue_starts_a_new_attempt(store: TaskStore) -> None:
    [state] = await store.submit([Task(name="fail")])
    failed = make_update(state.id, TaskStatus.FAILED, worker="w", attempt=1, seq=3)
    state.apply(failed)
    await store.record([(state, failed)])
    again = await store.requeue(state)
    assert again.status is TaskStatus.PENDING and again.attempt == 2
    assert again.order > failed.order


async def test_due_retries_move_back_to_the_stream(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    await store.schedule_retry(Task(id="later", name="noop"), time.time() + 3600)
    await store.schedule_retry(Task(id="now", name="noop"), time.time() - 1)
    assert await store.promote_due() == 1
    entries = await aredis.xrange(keys.TASK_STREAM)
    assert [decode_task(f[keys.TASK_FIELD.encode()]).id for _, f in entries] == ["now"]


async def test_workers_online_then_offline(store: TaskStore, aredis: aioredis.Redis) -> None:
    await store.heartbeat(WorkerInfo(name="w1", seen=time.time()), ttl=5)
    [info] = await store.workers()
    assert info.online
    await store.worker_gone("w1")
    [info] = await store.workers()
    assert not info.online


async def test_dead_letters_keep_the_reason(store: TaskStore) -> None:
    await store.dead_letter("t1", b"{garbage", "bad task: not JSON", "w1")
    [letter] = await store.dead_letters()
    assert letter["id"] == "t1" and letter["error"] == "bad task: not JSON"


def test_go_manager_entry_is_readable_by_the_store(sync_redis: redis.Redis) -> None:
    go = {
        "id": "g1",
        "name": "ExampleTask",
        "payload": None,
        "status": 0,
        "retries": 0,
        "max_retries": 0,
        "created_at": "2025-01-02T15:04:05Z",
    }
    sync_redis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: json.dumps(go)})
    [(_, fields)] = sync_redis.xrange(keys.TASK_STREAM)
    assert decode_task(fields[keys.TASK_FIELD.encode()]).handler_name == "deploy_node"


async def test_listing_workers_writes_nothing_forgetting_is_explicit(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    long_ago = time.time() - 2 * 3600
    await store.heartbeat(WorkerInfo(name="old", seen=long_ago), ttl=5)
    await store.worker_gone("old")
    await store.heartbeat(WorkerInfo(name="live", seen=time.time()), ttl=5)
    assert [info.name for info in await store.workers()] == ["live"]
    assert await aredis.hexists(keys.WORKERS, "old")  # a getter never deletes
    assert await store.forget_stale_workers() == 1
    assert not await aredis.hexists(keys.WORKERS, "old")
    assert await aredis.hexists(keys.WORKERS, "live")


async def test_wake_reads_ends_the_stores_own_blocking_read_at_once(
    redis_url: str, aredis: aioredis.Redis
) -> None:
    """A stopping worker ends its own blocking read, not another client's, and the read
    returns nothing, long before its block is over. Its connections carry its name
    (``CLIENT LIST`` shows whose they are)."""
    named = client(redis_url, name="worker one")  # a space: made a valid name
    mine, other = TaskStore(named), TaskStore(aredis)
    await mine.ensure_group()
    reads = [
        asyncio.ensure_future(store.read_first(consumer, ["default"], 10, 30_000))
        for store, consumer in ((mine, "worker one"), (other, "worker two"))
    ]

    async def blocked() -> list[dict[str, Any]]:
        found = await aredis.client_list()
        return [c for c in found if "b" in c["flags"] and c["cmd"] == "xreadgroup"]

    async def both_blocked() -> bool:
        return len(await blocked()) == 2

    await eventually(both_blocked, within=10)
    assert {c["name"] for c in await blocked()} == {"distritask:worker_one", ""}
    assert await mine.wake_reads() == 1
    assert await asyncio.wait_for(reads[0], 10) == []  # its block was 30 s
    assert not reads[1].done()  # another client's read blocks on
    assert await mine.wake_reads() == 0  # nothing of its own blocks now
    assert await other.wake_reads() == 1
    assert await asyncio.wait_for(reads[1], 10) == []
    await named.aclose()
