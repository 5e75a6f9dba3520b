"""One logical queue over N shard streams (issue 15, item 2), on the real 3-primary
cluster: submits spread over every primary, a task's state, cancel, retry and delay
follow it to its shard, a worker reads every shard within its window, status events
come from every shard, counters are summed, the shard count is fixed when the queue
is created, and a client's results, failures, cancels and retries work through a real
worker."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from backend import keys
from backend.client import Client, TaskCancelled, TaskFailed
from backend.config import load_settings
from backend.protocol import StatusUpdate, Task, TaskStatus, decode_update
from backend.store import TaskStore
from backend.store.ids import shard_tag, unqualify
from backend.store.sharded import ShardedStore
from backend.task_filter import TaskFilter
from tests.backend.worker.conftest import FAST
from tests.changes import advance
from tests.conftest import Spawn
from tests.waiting import eventually


async def entries_by_node(store: TaskStore, queue: str = "default") -> dict[str, int]:
    """The entries of ``queue``'s shard streams, by the primary holding each."""
    assert isinstance(store, ShardedStore) and isinstance(store.redis, RedisCluster)
    found: dict[str, int] = {primary.name: 0 for primary in store.redis.get_primaries()}
    for shard in await store.shards():
        stream = shard.keys.stream(queue)
        found[store.redis.get_node_from_key(stream).name] += int(await store.redis.xlen(stream))
    return found


def sharded(aredis: aioredis.Redis, **settings: object) -> ShardedStore:
    store = TaskStore.from_settings(aredis, load_settings(**settings))
    assert isinstance(store, ShardedStore)
    return store


async def test_a_submit_spreads_over_every_primary_and_each_task_stays_findable(
    store: TaskStore,
) -> None:
    assert isinstance(store, ShardedStore)
    assert len(await store.shards()) == 3  # one per primary by default
    states = await store.submit([Task(name="noop") for _ in range(300)])
    placed = await entries_by_node(store)
    assert sum(placed.values()) == 300 and all(n >= 50 for n in placed.values()), placed
    # every task: its state, in its shard; listings, counters and figures add up
    ids = [s.id for s in states]
    assert [s.id for s in await store.get_many(ids)] == ids
    assert (await store.get(ids[7])) is not None
    assert (await store.counters())["submitted"] == 300
    page = await store.find(TaskFilter(status="pending"), limit=20, offset=10)
    assert page.total == 300 and len(page.tasks) == 20
    created = [s.created for s in page.tasks]
    assert created == sorted(created, reverse=True)  # newest first, over every shard
    assert await store.matching_ids(TaskFilter(status="pending")) != []
    [default] = await store.queue_infos(["default"])
    assert (default.lag, default.depth) == (300, 300)
    assert (await store.queue_depth())["length"] == 300
    assert len(await store.newest_ids(5)) == 5
    statuses, retained = await store.status_counts()
    assert (statuses[TaskStatus.PENDING], retained) == (300, 300)
    assert await store.known([ids[0], "no-such-task", ids[-1]]) == [True, False, True]


async def test_state_cancel_retry_and_delay_follow_the_task_to_its_shard(
    store: TaskStore,
) -> None:
    [first, second] = await store.submit([Task(name="noop"), Task(name="noop")])
    cancelled = await store.request_cancel(first.id)
    assert cancelled is not None and cancelled.status is TaskStatus.CANCELLED
    assert (await store.get(first.id)).status is TaskStatus.CANCELLED  # type: ignore[union-attr]
    again = await store.requeue(cancelled)
    assert again.status is TaskStatus.PENDING and again.attempt == 2
    # a worker's outcome: the state and the ack of its entry go to the task's shard
    entries = await store.read_first("w1", ["default"], 10, 0)
    assert {shard_tag(entry_id) for entry_id, _ in entries} <= {
        shard.shard for shard in await store.shards()
    }
    held = next(e for e, fields in entries if fields and second.id.encode() in fields[b"task_data"])
    done = second.model_copy(update={"status": TaskStatus.COMPLETED, "worker": "w1"})
    update = StatusUpdate(id=second.id, status=TaskStatus.COMPLETED, worker="w1")
    await store.record([(done, update)], ack=[held])
    assert (await store.get(second.id)).status is TaskStatus.COMPLETED  # type: ignore[union-attr]
    assert (await store.counters())["completed"] == 1
    # a delayed task waits in its shard's due set and lands once due
    [later] = await store.submit([Task(name="noop", due=time.time() + 0.5)])
    assert await store.next_due(["default"]) is not None

    async def landed() -> bool:
        await store.promote_due("default")
        return any(
            later.id.encode() in (fields or {}).get(b"task_data", b"")
            for _, fields in await store.read_first("w1", ["default"], 10, 0)
        )

    await eventually(landed, within=15, interval=0.2, what="the delayed task to land")


async def test_a_worker_reads_every_shard_within_its_window_and_wakes_on_any(
    store: TaskStore,
) -> None:
    assert isinstance(store, ShardedStore)
    await store.submit([Task(name="noop") for _ in range(30)])
    taken = await store.read_first("w1", ["default"], 4, 1000)
    assert len(taken) == 4  # never more than the room asked for
    everything = taken + await store.read_own("w1", 100)
    assert len({entry_id for entry_id, _ in taken}) == 4
    rest: list[bytes] = []
    while len(rest) < 26:
        got = await store.read_first("w1", ["default"], 100, 200)
        assert got, "entries left unread"
        rest += [entry_id for entry_id, _ in got]
    assert len({shard_tag(i) for i in rest}) == 3 and len(everything) >= 4
    # with every shard empty, a read blocks on every node and wakes on the first entry
    reading = asyncio.ensure_future(store.read_first("w1", ["default"], 10, 5000))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    [late] = await store.submit([Task(name="noop")])
    got = await asyncio.wait_for(reading, 5)
    assert time.monotonic() - started < 2.0
    assert [unqualify(entry_id)[0] for entry_id, _ in got] == ["default"]
    assert late.id.encode() in got[0][1][b"task_data"]  # type: ignore[index]

    # again and again, with other commands going on: the reads a wake-up leaves behind
    # are ended at once (never left blocking a connection the next command needs)
    async def chatter() -> None:
        while True:
            await store.counters()
            await store.promote_due("default")

    busy = asyncio.ensure_future(chatter())
    try:
        for _ in range(12):
            reading = asyncio.ensure_future(store.read_first("w1", ["default"], 3, 3000))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            await store.submit([Task(name="noop")])
            assert len(await asyncio.wait_for(reading, 5)) == 1
            assert time.monotonic() - started < 0.5
    finally:
        busy.cancel()
    # a pause holds in every shard (and a blocking read that began before it gives back)
    await store.submit([Task(name="noop") for _ in range(6)])
    assert await store.pause("default")
    assert await store.paused() == {"default"}
    assert await store.read_first("w1", ["default"], 10, 200) == []
    [info] = await store.queue_infos(["default"])
    assert info.paused and info.lag == 6
    assert await store.resume("default")
    assert len(await store.read_first("w1", ["default"], 10, 0)) >= 1
    # held entries are kept and handed back through the shard they name
    await store.keep("w1", [entry_id for entry_id, _ in got])
    await store.hand_back([got[0][1][b"task_data"]], [got[0][0]])  # type: ignore[index]
    assert (await store.read_first("w2", ["default"], 10, 0))[0][0] != got[0][0]


async def test_status_events_come_from_every_shard(store: TaskStore) -> None:
    async with await store.subscribe(keys.UPDATES_CHANNEL) as updates:
        states = await store.submit([Task(name="noop") for _ in range(30)])
        heard: set[str] = set()
        async for data in updates.listen():
            if data is not None:
                heard.add(decode_update(data).id)
            if len(heard) == 30:
                break
    assert heard == {s.id for s in states}
    assert isinstance(store, ShardedStore)
    assert len({(await store.shard_for(s.id)).shard for s in states}) == 3
    # waiting for the next one: whichever node it comes from, a quiet node never delays it
    async with await store.subscribe(keys.UPDATES_CHANNEL) as updates:
        for _ in range(6):
            started = time.monotonic()
            [state] = await store.submit([Task(name="noop")])
            data = await updates.get(within=5)
            assert data is not None and decode_update(data).id == state.id
            assert time.monotonic() - started < 1.0


async def test_the_shard_count_is_set_once_and_several_per_node_work(
    aredis: aioredis.Redis,
) -> None:
    six = sharded(aredis, shards=6)
    assert len(await six.shards()) == 6
    later = sharded(aredis, shards=3)  # the count was fixed when the queue was created
    assert [s.shard for s in await later.shards()] == [s.shard for s in await six.shards()]
    await six.ensure_group()
    states = await six.submit([Task(name="noop") for _ in range(60)])
    assert all(n >= 10 for n in (await entries_by_node(six)).values())
    got: list[bytes] = []
    while len(got) < 60:
        batch = await later.read_first("w1", ["default"], 7, 300)
        assert len(batch) <= 7 and batch
        got += [entry_id for entry_id, _ in batch]
    assert len({shard_tag(i) for i in got}) == 6
    changes = [advance(s, TaskStatus.COMPLETED, worker="w1", attempt=1) for s in states]
    await later.record(changes, ack=got)
    assert (await later.counters())["completed"] == 60
    assert [(i.lag, i.pending) for i in await later.queue_infos(["default"])] == [(0, 0)]


async def test_one_shard_keeps_the_keys_of_an_unsharded_cluster(aredis: aioredis.Redis) -> None:
    one = sharded(aredis, shards=1)
    [shard] = await one.shards()
    assert shard.keys == keys.cluster(classic_updates=True)
    await one.ensure_group()
    [state] = await one.submit([Task(name="noop")])
    assert await aredis.hexists(keys.cluster().TASK_STATES, state.id)


async def test_results_failures_cancel_and_retry_through_the_client(
    redis_url: str, store: TaskStore, spawn: Spawn
) -> None:
    spawn("worker", "--concurrency", "4", env=FAST)

    async def online() -> bool:
        return any(w.online for w in await store.workers())

    await eventually(online, within=30, interval=0.1, what="a worker online")
    async with Client(redis_url) as client:
        ids = [await client.submit("echo", n) for n in range(30)]  # over every shard
        assert await asyncio.gather(*(client.result(i, timeout=30) for i in ids)) == list(range(30))
        failing = await client.submit("fail", {"message": "no"}, max_retries=0)
        with pytest.raises(TaskFailed, match="no"):
            await client.result(failing, timeout=30)
        again = await client.retry(failing)
        assert again.status is TaskStatus.PENDING and again.attempt == 2
        with pytest.raises(TaskFailed):
            await client.result(failing, timeout=30)
        slow = await client.submit("sleep", 30)
        await eventually(
            lambda: _status_is(client, slow, TaskStatus.PROCESSING), within=30, what="running"
        )
        await client.cancel(slow)
        with pytest.raises(TaskCancelled):
            await client.result(slow, timeout=30)
    assert isinstance(store, ShardedStore)
    assert len({(await store.shard_for(i)).shard for i in ids}) == 3


async def _status_is(client: Client, task_id: str, status: TaskStatus) -> bool:
    state = await client.get(task_id)
    return state is not None and state.status is status
