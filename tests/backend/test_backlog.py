"""The index and history upkeep a submit or write of a few tasks leaves for later
(:mod:`backend.store.backlog`): whatever reads the indexes or the history sees it done,
it is settled soon without any reader, and it never grows without bound."""

from __future__ import annotations

import gc
import random
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
import redis
import redis.asyncio as aioredis

from backend import history, keys
from backend.client import BlockingClient
from backend.protocol import Task, TaskStatus
from backend.scripts.upkeep import SETTLE_AT, SETTLE_CHUNK, SETTLE_SOON, SETTLE_SUBMITTED
from backend.state import TaskState
from backend.store import TaskStore
from backend.task_filter import TaskFilter
from tests.backend.test_query import BASE, ENDS, FILTERS, NAMES, WORKERS, brute
from tests.changes import advance
from tests.waiting import eventually


async def populate_alone(store: TaskStore, count: int = 90, seed: int = 11) -> None:
    """Tasks in every status, each submitted and moved on its own (as a client's
    ``submit`` and an idle worker's writes come): their upkeep is left for later."""
    rng = random.Random(seed)
    for i in range(count):
        task = Task(
            id=f"{rng.choice('ab')}{i:04x}-{rng.randrange(1 << 30):08x}",
            name=rng.choice(NAMES),
            created_at=datetime.fromtimestamp(BASE + i, UTC),
        )
        [state] = await store.submit([task])
        roll, worker = rng.random(), rng.choice(WORKERS)
        if roll < 0.2:
            continue
        await store.record([advance(state, TaskStatus.PROCESSING, worker=worker, name=task.name)])
        if roll < 0.35:
            continue
        end = rng.choice(ENDS)
        error = "TimeoutError: slow disk" if end is TaskStatus.FAILED else None
        await store.record(
            [advance(state, end, worker=worker, message="done", error=error, name=task.name)]
        )


def minute_totals(minutes: dict[int, dict[str, int]]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for counts in minutes.values():
        totals.update({what: counts.get(what, 0) for what in history.COUNTS})
    return totals


async def test_filters_counts_and_history_agree_when_every_task_came_alone(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    await populate_alone(store)
    everything = list((await store.load_all()).values())
    for wanted in FILTERS:
        expected = [s.id for s in brute(everything, wanted)]
        page = await store.find(wanted, limit=1000)
        got = [s.id for s in page.tasks]
        if wanted.sort.lstrip("-") == "created":
            assert got == expected, wanted
        else:  # ties in finish time may come in either order
            assert sorted(got) == sorted(expected), wanted
    statuses, retained = await store.status_counts()
    assert retained == len(everything)
    assert {s: n for s, n in statuses.items() if n} == Counter(s.status for s in everything)
    meta = {k.decode(): v.decode() for k, v in (await aredis.hgetall(keys.INDEX_META)).items()}
    assert meta == {s.id: f"{s.status.value}\t{s.worker}\t{s.name}\t{s.queue}" for s in everything}
    now = history.epoch_minute(time.time())
    counted = minute_totals(await store.minutes(now - 5, now + 1))
    ended = Counter(s.status.value for s in everything if s.status.terminal)
    assert counted["submitted"] == len(everything)
    assert (counted["completed"], counted["failed"]) == (ended["completed"], ended["failed"])


async def test_a_lone_task_is_indexed_and_counted_by_the_first_read(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    [state] = await store.submit([Task(name="noop")])
    assert await aredis.llen(keys.INDEX_BACKLOG) == 1  # left for later, not done inline
    page = await store.find(TaskFilter(status="pending"))
    assert [s.id for s in page.tasks] == [state.id]
    assert await aredis.llen(keys.INDEX_BACKLOG) == 0
    await store.record([advance(state, TaskStatus.COMPLETED, worker="w1", name="noop")])
    assert await aredis.llen(keys.INDEX_BACKLOG) > 0
    statuses, _ = await store.status_counts()
    assert (statuses[TaskStatus.PENDING], statuses[TaskStatus.COMPLETED]) == (0, 1)
    board = await store.board()
    assert board.counts.workers == {"w1": 1}
    now = history.epoch_minute(time.time())
    counted = minute_totals(await store.minutes(now - 5, now + 1))
    assert (counted["submitted"], counted["completed"]) == (1, 1)


async def test_submitters_and_writers_settle_the_backlog_without_any_reader(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    async def backlog() -> int:
        return int(await aredis.llen(keys.INDEX_BACKLOG))

    states = [(await store.submit([Task(name="noop")]))[0] for _ in range(SETTLE_SUBMITTED)]

    async def settled_by_submitters() -> bool:
        return await backlog() < SETTLE_SUBMITTED // 2

    await eventually(settled_by_submitters, within=10, what="a submitter settling it")
    assert int(await aredis.zcard(keys.index("status", "pending"))) >= SETTLE_SUBMITTED - 1
    for state in states[: 2 * SETTLE_CHUNK]:  # as an idle worker writes, one at a time
        await store.record([advance(state, TaskStatus.COMPLETED, worker="w1", name="noop")])

    async def settled_by_writers() -> bool:
        return await backlog() < SETTLE_SOON + 1

    await eventually(settled_by_writers, within=10, what="the writers' chunks")
    assert int(await aredis.zcard(keys.index("status", "completed"))) > SETTLE_CHUNK


class Silent(TaskStore):
    """A caller that never settles (as a Go worker, or a client gone at once)."""

    def settle_soon(self, backlog: int, *, at: int, most: int = 0) -> None:
        return None


async def test_the_backlog_stays_bounded_when_no_caller_settles_it(
    aredis: aioredis.Redis,
) -> None:
    store = Silent(aredis)
    longest = 0
    for _ in range(SETTLE_AT + SETTLE_AT // 4):
        await store.submit([Task(name="noop")])
        longest = max(longest, int(await aredis.llen(keys.INDEX_BACKLOG)))
    assert longest < SETTLE_AT
    assert int(await aredis.zcard(keys.index("status", "pending"))) >= SETTLE_AT - 1
    assert (await store.find(TaskFilter())).total == SETTLE_AT + SETTLE_AT // 4


async def test_a_task_forgotten_before_its_upkeep_leaves_nothing_indexed(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    [state] = await store.submit([Task(name="noop")])
    await store.record([advance(state, TaskStatus.COMPLETED, worker="w1", name="noop")])
    assert await store.forget([state.id]) == 1
    index_keys = [k async for k in aredis.scan_iter(match=keys.INDEX_PREFIX + "*")]
    for key in index_keys:
        if (await aredis.type(key)) == b"zset":
            assert not await aredis.zscore(key, state.id), key
    assert not await aredis.hexists(keys.INDEX_META, state.id)
    now = history.epoch_minute(time.time())
    counted = minute_totals(await store.minutes(now - 5, now + 1))
    assert (counted["submitted"], counted["completed"]) == (1, 1)  # it did run


async def test_a_task_replaced_alone_is_indexed_from_its_new_state(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    [state] = await store.submit([Task(id="again-1", name="resize")])
    await store.record([advance(state, TaskStatus.FAILED, worker="w2", name="resize")])
    [fresh] = await store.submit([Task(id="again-1", name="encode", queue="low")], replace=True)
    assert await aredis.llen(keys.INDEX_BACKLOG) > 0
    assert [s.id for s in (await store.find(TaskFilter(name="encode", queue="low"))).tasks] == [
        "again-1"
    ]
    assert (await store.find(TaskFilter(name="resize"))).total == 0
    assert (await store.find(TaskFilter(sort="-finished"))).total == 0
    assert await aredis.zscore(keys.TASK_INDEX, "again-1") == fresh.created
    assert isinstance(fresh, TaskState)


async def test_a_crowded_minute_counts_new_names_and_queues_as_other(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    async def early_in_a_minute() -> float | None:
        seconds, _ = await aredis.time()
        return seconds if seconds % 60 < 55 else None

    now = await eventually(early_in_a_minute, within=10, what="a minute with 5 s left")
    minute = history.epoch_minute(now)
    filler = {f"n:filler-{i}:submitted": 1 for i in range(history.MINUTE_FIELDS)}
    await aredis.hset(keys.minute(minute), mapping=filler)  # as a busy minute leaves it
    for name in ("late-a", "late-b"):
        await store.submit([Task(name=name, queue="late")])
    counts = (await store.minutes(minute, minute))[minute]
    assert counts["submitted"] == 2
    assert counts[f"n:{history.OTHER}:submitted"] == 2
    assert counts[f"q:{history.OTHER}:submitted"] == 2
    assert "n:late-a:submitted" not in counts and "q:late:submitted" not in counts


def test_a_client_closing_lets_its_background_settle_end(
    redis_url: str, sync_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    with BlockingClient(redis_url) as client:
        for _ in range(SETTLE_SUBMITTED):  # the last one starts a settle in the background
            client.submit("noop")
    gc.collect()  # a task left pending would be reported now
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]
    assert int(sync_redis.llen(keys.INDEX_BACKLOG)) < SETTLE_SUBMITTED // 2
    assert int(sync_redis.zcard(keys.index("status", "pending"))) > 0
