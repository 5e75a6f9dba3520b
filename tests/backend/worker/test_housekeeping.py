"""Shared keys stay bounded: the stream is trimmed, gone consumers leave the group,
cancel requests and dead letters do not pile up."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from backend import keys
from backend.protocol import TaskStatus
from backend.store import DEAD_LETTER_DATA_MAX, TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    submit,
    wait_online,
    wait_states,
    wait_status,
)
from tests.waiting import eventually

QUICK_ROUNDS = {"DISTRITASK_HOUSEKEEPING_EVERY": "0.25", "DISTRITASK_CONSUMER_GONE_AFTER": "2"}
"""A housekeeping round four times a second, a consumer gone after 2 s (defaults: 5 s,
10 s): the tests wait on the outcome, not on the default period."""


async def test_acknowledged_entries_are_trimmed_but_held_ones_stay(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "4", env=QUICK_ROUNDS)
    await wait_states(store, await submit(store, "noop", 30), within=20)

    def length_is(wanted: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return int(await aredis.xlen(keys.TASK_STREAM)) == wanted

        return check

    await eventually(length_is(1), within=15)  # only the last delivered entry stays
    async with aredis.pipeline(transaction=True) as pipe:  # a Go worker takes one
        pipe.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: '{"id": "go-1", "name": "noop"}'})
        pipe.xreadgroup(keys.WORKER_GROUP, "dispatcher", {keys.TASK_STREAM: ">"}, count=1)
        held, _ = await pipe.execute()
    await wait_states(store, await submit(store, "noop", 20), within=20)
    await eventually(length_is(21), within=15)  # all before it went; it and after stay
    [(first, _)] = await aredis.xrange(keys.TASK_STREAM, count=1)
    assert first == held
    await aredis.xack(keys.TASK_STREAM, keys.WORKER_GROUP, held)
    await eventually(length_is(1), within=15)


async def test_a_killed_workers_consumer_leaves_the_group(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    doomed = start_worker("--name", "doomed", env=QUICK_ROUNDS)
    start_worker("--name", "survivor", env=QUICK_ROUNDS)
    await wait_online(store, 2)

    async def consumers() -> set[str]:
        found = await aredis.xinfo_consumers(keys.TASK_STREAM, keys.WORKER_GROUP)
        return {c["name"].decode() for c in found}

    async def both() -> bool:
        return await consumers() == {"doomed", "survivor"}

    await eventually(both, within=15)
    doomed.send_signal(signal.SIGKILL)

    async def left() -> bool:
        return await consumers() == {"survivor"}

    await eventually(left, within=40)


async def test_a_cancel_that_races_completion_leaves_no_request_behind(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    start_worker()
    [task_id] = await submit(store, "sleep", payload={"seconds": 1})
    await wait_status(store, task_id, TaskStatus.PROCESSING, within=15)
    # The request lands, but its announcement has not reached the worker yet.
    await aredis.hset(keys.CANCELLED, task_id, "1")
    await wait_status(store, task_id, TaskStatus.COMPLETED, within=15)

    async def forgotten() -> bool:
        return not await aredis.hexists(keys.CANCELLED, task_id)

    await eventually(forgotten, within=5)
    assert await store.request_cancel(task_id) is not None  # finished: nothing recorded
    assert not await aredis.hexists(keys.CANCELLED, task_id)


async def test_a_huge_poison_entry_is_dead_lettered_cut_to_size(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    start_worker()
    huge = "{" + "x" * (5 << 20)  # 5 MB, not JSON
    await aredis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: huge})

    async def dead() -> list[dict[str, str]]:
        return await store.dead_letters()

    [letter] = await eventually(dead, within=15)
    assert len(letter[keys.TASK_FIELD]) == DEAD_LETTER_DATA_MAX
    assert str(len(huge)) in letter["note"]
    assert letter["error"]
