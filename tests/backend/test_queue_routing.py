"""Submitting to named queues and delaying tasks, against the real server."""

from __future__ import annotations

import json
import time

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError

from backend import keys
from backend.protocol import Task, TaskStatus, decode_task
from backend.store import TaskStore


async def test_a_task_with_no_queue_goes_to_the_go_stream_unchanged(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    [state] = await store.submit([Task(name="noop", payload={"n": 1})])
    [(_, fields)] = await aredis.xrange(keys.TASK_STREAM)
    data = json.loads(fields[keys.TASK_FIELD.encode()])
    # The Go services' fields, and none of ours they would not expect for a plain task.
    assert {"id", "name", "payload", "status", "retries", "max_retries", "created_at"} <= set(data)
    assert "queue" not in data and "due" not in data
    assert data["id"] == state.id and data["status"] == 0
    assert state.queue == "default" and not state.scheduled


async def test_a_named_queue_is_its_own_stream(store: TaskStore, aredis: aioredis.Redis) -> None:
    [high, plain] = await store.submit(
        [Task(name="noop", queue="high"), Task(name="noop", queue="default")]
    )
    [(_, fields)] = await aredis.xrange(keys.stream("high"))
    assert decode_task(fields[keys.TASK_FIELD.encode()]).id == high.id
    [(_, fields)] = await aredis.xrange(keys.TASK_STREAM)
    assert decode_task(fields[keys.TASK_FIELD.encode()]).id == plain.id
    assert await aredis.smembers(keys.QUEUES) == {b"high", b"default"}
    stored = await store.get(high.id)
    assert stored is not None and stored.queue == "high"


async def test_a_delayed_task_waits_in_its_queues_schedule(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    due = time.time() + 3600
    [state] = await store.submit([Task(name="noop", queue="low", due=due)])
    assert await aredis.xlen(keys.stream("low")) == 0
    [(member, score)] = await aredis.zrange(keys.due("low"), 0, -1, withscores=True)
    assert decode_task(member).id == state.id and score == pytest.approx(due)
    stored = await store.get(state.id)
    assert stored is not None and stored.status is TaskStatus.PENDING
    assert stored.scheduled and stored.due == pytest.approx(due)
    assert stored.message.startswith("Scheduled for ")


async def test_a_task_due_another_day_says_which_day(store: TaskStore) -> None:
    due = time.time() + 2 * 86400  # never today, whatever the hour
    [state] = await store.submit([Task(name="noop", due=due)])
    stored = await store.get(state.id)
    day = time.strftime("%Y-%m-%d", time.localtime(due))
    assert stored is not None and stored.message.startswith(f"Scheduled for {day} ")


async def test_a_due_time_in_the_past_queues_at_once(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    [state] = await store.submit([Task(name="noop", due=time.time() - 5)])
    assert await aredis.xlen(keys.TASK_STREAM) == 1
    assert await aredis.zcard(keys.RETRY_SCHEDULE) == 0
    assert not state.scheduled


@pytest.mark.parametrize("name", ["", "has space", "a:b", "{tag}", "x" * 65, "-lead"])
def test_a_bad_queue_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="queue"):
        Task(name="noop", queue=name)


async def test_a_single_queue_read_directly_still_honours_a_pause(store: TaskStore) -> None:
    """A worker of one queue reads it without the priority script once a read found it
    running; a pause made meanwhile is still seen (the entry is handed back) and the
    reads go back to the script's check until the queue runs again."""
    await store.ensure_group()
    [first] = await store.submit([Task(name="noop")])
    [(_, fields)] = await store.read_first("w", ["default"], 10, 50)
    assert decode_task(fields[keys.TASK_FIELD.encode()]).id == first.id
    await store.pause("default")
    [held] = await store.submit([Task(name="noop")])
    assert await store.read_first("w", ["default"], 10, 50) == []  # read, seen paused: back
    assert await store.read_first("w", ["default"], 10, 50) == []  # the script's check
    [info] = await store.queue_infos(["default"])
    assert (info.lag, info.pending) == (1, 1)  # the first task's entry is still unacked
    await store.resume("default")
    [(_, fields)] = await store.read_first("w", ["default"], 10, 50)
    assert decode_task(fields[keys.TASK_FIELD.encode()]).id == held.id
    assert await store.read_first("w", ["default"], 10, 50) == []  # none left: it blocked
