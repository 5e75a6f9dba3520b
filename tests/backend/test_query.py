"""Filtered listings over the indexes agree with a brute-force reading of the states."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from backend import keys
from backend.protocol import Task, TaskStatus, decode_forgotten
from backend.state import TaskState
from backend.store import TaskStore
from backend.task_filter import FilterError, TaskFilter
from tests.changes import advance

BASE = 1_700_000_000.0
NAMES = ("resize", "encode", "noop")
WORKERS = ("w1", "w2", "w3")
ENDS = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


async def populate(store: TaskStore, count: int = 240, seed: int = 7) -> None:
    """Tasks of three names over three workers in every status; two batches of writes
    (start, then end), so the indexes follow each move."""
    rng = random.Random(seed)
    tasks = [
        Task(
            id=f"{rng.choice('ab')}{i:04x}-{rng.randrange(1 << 30):08x}",
            name=rng.choice(NAMES),
            created_at=datetime.fromtimestamp(BASE + i, UTC),
        )
        for i in range(count)
    ]
    started, ended = [], []
    for state in await store.submit(tasks):
        roll = rng.random()
        if roll < 0.2:
            continue
        worker = rng.choice(WORKERS)
        started.append(
            advance(state, TaskStatus.PROCESSING, worker=worker, message="working", name=state.name)
        )
        if roll < 0.35:
            continue
        end = rng.choice(ENDS)
        message = rng.choice(["done", "gave up after a Timeout", "ok"])
        error = (
            "TimeoutError: slow disk" if end is TaskStatus.FAILED and rng.random() < 0.5 else None
        )
        ended.append((state, end, worker, message, error))
    await store.record(started)
    await store.record(
        advance(state, end, worker=worker, message=message, error=error, name=state.name)
        for state, end, worker, message, error in ended
    )


def brute(states: list[TaskState], f: TaskFilter) -> list[TaskState]:
    needle = (f.q or "").lower()
    out = [
        s
        for s in states
        if (f.status is None or s.status.value == f.status)
        and (f.name is None or s.name == f.name)
        and (f.worker is None or s.worker == f.worker)
        and (f.queue is None or f.queue == "default")
        and (f.id_prefix is None or s.id.startswith(f.id_prefix))
        and (f.since is None or (s.created or 0) >= f.since)
        and (f.until is None or (s.created or 0) <= f.until)
        and (not needle or any(needle in (v or "").lower() for v in (s.id, s.message, s.error)))
    ]
    key = f.sort.lstrip("-")
    if key != "created":
        out = [s for s in out if s.status.terminal]
    value = {
        "created": lambda s: s.created,
        "finished": lambda s: s.finished,
        "duration": lambda s: (s.finished or 0) - (s.created or 0),
    }[key]
    return sorted(out, key=value, reverse=f.sort.startswith("-"))


FILTERS = [
    TaskFilter(),
    TaskFilter(status="failed"),
    TaskFilter(status="pending"),
    TaskFilter(name="resize"),
    TaskFilter(worker="w2"),
    TaskFilter(queue="default", status="completed"),
    TaskFilter(status="completed", name="encode", worker="w1"),
    TaskFilter(id_prefix="a"),
    TaskFilter(id_prefix="b00", status="processing"),
    TaskFilter(since=BASE + 50, until=BASE + 120),
    TaskFilter(since=BASE + 30, name="noop", worker="w3"),
    TaskFilter(sort="created"),
    TaskFilter(sort="-finished"),
    TaskFilter(sort="duration", name="resize"),
    TaskFilter(sort="-finished", since=BASE + 100),
    TaskFilter(q="timeout"),
    TaskFilter(q="TIMEOUT", status="failed", sort="created"),
    TaskFilter(q="slow disk"),
    TaskFilter(q="a00"),
    TaskFilter(name="never-submitted"),
]


@pytest.mark.parametrize("wanted", FILTERS, ids=lambda f: f.text() or "all")
async def test_filters_agree_with_reading_every_state(store: TaskStore, wanted: TaskFilter) -> None:
    await populate(store)
    everything = list((await store.load_all()).values())
    expected = brute(everything, wanted)
    total, first = await store.find(wanted, limit=25, offset=0)
    rest = await store.find(wanted, limit=1000, offset=25)
    got = [s.id for s in first + rest.tasks]
    # what a bulk action collects, a few candidates per call: the same, in order
    matched = await store.matching_ids(wanted, page=7)
    if wanted.sort.lstrip("-") == "created":
        assert got == [s.id for s in expected] == matched
    else:  # ties in finish time may come in either order
        assert sorted(got) == sorted(s.id for s in expected) == sorted(matched)
    if wanted.q:
        assert rest.exact and rest.total == len(expected)
    else:
        assert total == len(expected) and rest.total == len(expected)


async def test_a_free_text_page_stops_early_and_says_so(store: TaskStore) -> None:
    await populate(store)
    page = await store.find(TaskFilter(q="timeout"), limit=3)
    assert len(page.tasks) == 3 and not page.exact and page.total >= 3


async def test_the_text_form_round_trips() -> None:
    f = TaskFilter(status="failed", name="resize", since=BASE, q="no route", sort="duration")
    assert TaskFilter.parse(f.text()) == f
    assert TaskFilter.parse("status:failed name:resize timeout") == TaskFilter(
        status="failed", name="resize", q="timeout"
    )
    with pytest.raises(FilterError, match="status"):
        TaskFilter.parse("status:exploded")
    with pytest.raises(FilterError, match="since"):
        TaskFilter.parse("since:yesterday")


async def test_trim_and_delete_leave_no_index_entry_behind(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    await populate(store, count=120)
    store.retention = 50
    assert await store.trim() == 70
    kept = set(await store.load_all())
    assert len(kept) == 50
    index_keys = [k async for k in aredis.scan_iter(match=keys.INDEX_PREFIX + "*")]
    for key in index_keys:
        if (await aredis.type(key)) == b"zset":
            members = {m.decode() for m in await aredis.zrange(key, 0, -1)}
            assert members <= kept, key
    assert set(map(bytes.decode, await aredis.hkeys(keys.INDEX_META))) == kept
    done = await store.bulk("delete", wanted=TaskFilter(status="completed"))
    left = await store.load_all()
    assert done.done == done.matched > 0
    assert not any(s.status is TaskStatus.COMPLETED for s in left.values())
    assert (await store.find(TaskFilter(status="completed"))).total == 0
    assert await aredis.hlen(keys.INDEX_META) == len(left)


async def test_a_bulk_delete_announces_the_ids_it_forgot_and_trimming_does_not(
    store: TaskStore,
) -> None:
    """Every panel drops deleted tasks from its board: the notice names each task whose
    state went (finished ones only), one notice per batch; trimming stays silent."""
    await populate(store, count=60)
    everything = await store.load_all()
    finished = {i for i, s in everything.items() if s.status.terminal}
    async with await store.subscribe(keys.FORGOTTEN_CHANNEL) as notices:
        steps = [s async for s in store.bulk_steps("delete", list(everything), batch=25)]
        assert steps[-1].done == len(finished) > 0
        heard: list[str] = []
        while len(heard) < len(finished):
            data = await notices.get(within=5)
            assert data is not None, f"heard {len(heard)} of {len(finished)} ids"
            heard += decode_forgotten(data).ids
        assert sorted(heard) == sorted(finished)
        store.retention = 1
        assert await store.trim() > 0
        assert await notices.get(within=0.5) is None


async def test_bulk_retry_requeues_failed_and_cancel_cancels_pending(store: TaskStore) -> None:
    await populate(store, count=100)
    failed = (await store.find(TaskFilter(status="failed"))).total
    steps = [
        s.handled
        async for s in store.bulk_steps("retry", wanted=TaskFilter(status="failed"), batch=5)
    ]
    assert steps[0] == 0 and steps[-1] == failed
    assert (await store.find(TaskFilter(status="failed"))).total == 0
    pending = await store.find(TaskFilter(status="pending"), limit=1000)
    assert all(
        s.attempt == 2 for s in pending.tasks if s.message == "Task queued" and s.attempt > 1
    )
    result = await store.bulk("cancel", wanted=TaskFilter(status="pending"))
    assert result.done == pending.total
    assert (await store.find(TaskFilter(status="pending"))).total == 0
    assert (await store.find(TaskFilter(status="cancelled"))).total >= pending.total


async def test_every_way_of_submitting_indexes_the_task_by_its_values(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    """New tasks of several names and queues in one call (fresh and chosen ids), a
    finished one replaced under another name and queue, a failed one retried: every
    filter agrees with the states, and no set keeps an id whose value moved."""
    tasks = [
        Task(
            name=NAMES[i % 3],
            queue=("default", "high")[i % 2],
            **({"id": f"own-{i}"} if i % 4 else {}),
        )
        for i in range(24)
    ]
    states = await store.submit(tasks)
    done = [advance(s, TaskStatus.PROCESSING, worker="w1", name=s.name) for s in states[:6]]
    await store.record(done)
    await store.record(
        [
            advance(s, (TaskStatus.COMPLETED, TaskStatus.FAILED)[i % 2], worker="w1", name=s.name)
            for i, (s, _) in enumerate(done)
        ]
    )
    replaced = done[0][0]
    await store.submit([Task(id=replaced.id, name="encode-later", queue="low")], replace=True)
    await store.requeue(done[1][0])  # failed: queued again
    everything = list((await store.load_all()).values())
    assert {s.queue for s in everything} == {"default", "high", "low"}
    for wanted in [
        TaskFilter(queue="high"),
        TaskFilter(queue="low"),
        TaskFilter(name="encode-later"),
        TaskFilter(name=replaced.name),
        TaskFilter(status="pending"),
        TaskFilter(status="failed"),
        TaskFilter(status="completed", queue="default"),
        TaskFilter(worker="w1"),
        TaskFilter(id_prefix="own-1"),
        TaskFilter(sort="-finished"),
    ]:
        expected = {
            s.id
            for s in everything
            if (wanted.status is None or s.status.value == wanted.status)
            and (wanted.name is None or s.name == wanted.name)
            and (wanted.queue is None or s.queue == wanted.queue)
            and (wanted.worker is None or s.worker == wanted.worker)
            and (wanted.id_prefix is None or s.id.startswith(wanted.id_prefix))
            and (wanted.sort == "-created" or s.status.terminal)
        }
        page = await store.find(wanted, limit=100)
        assert {s.id for s in page.tasks} == expected and page.total == len(expected), wanted
    finished = {m.decode() for m in await aredis.zrange(keys.INDEX_FINISHED, 0, -1)}
    assert replaced.id not in finished and done[1][0].id not in finished
    # what the index holds for each task is what its state says, however it came
    meta = {k.decode(): v.decode() for k, v in (await aredis.hgetall(keys.INDEX_META)).items()}
    assert meta == {s.id: f"{s.status.value}\t{s.worker}\t{s.name}\t{s.queue}" for s in everything}
