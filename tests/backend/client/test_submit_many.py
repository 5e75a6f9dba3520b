"""submit_many: pipelined batches queue every task once, in order, with its fields."""

from __future__ import annotations

import pytest

from backend import keys
from backend.client import Client, TaskExists
from backend.protocol import TaskStatus, decode_task
from backend.store import TaskStore


async def test_submit_many_queues_every_task_in_order(client: Client, store: TaskStore) -> None:
    specs: list[object] = [("noop",)] * 1500
    specs += [("echo", {"n": n}) for n in range(700)]
    specs += [{"name": "sleep", "payload": 0, "max_retries": 0, "timeout": 5} for _ in range(300)]
    ids = await client.submit_many(specs)  # type: ignore[arg-type]
    assert len(ids) == len(set(ids)) == 2500
    entries = await store.redis.xrange(keys.TASK_STREAM)
    tasks = [decode_task(fields[keys.TASK_FIELD.encode()]) for _, fields in entries]
    assert [task.id for task in tasks] == ids
    assert tasks[1600].name == "echo" and tasks[1600].payload == {"n": 100}
    assert tasks[-1].max_retries == 0 and tasks[-1].timeout == 5
    states = await store.get_many(ids)
    assert len(states) == 2500 and all(s.status is TaskStatus.PENDING for s in states)
    assert states[1600].payload == {"n": 100}
    assert (await store.counters())["submitted"] == 2500
    assert [s.id for s in await client.list_tasks(name="sleep", limit=3)] == ids[-3:][::-1]


async def test_submit_many_refuses_bad_items_before_queuing_any(
    client: Client, store: TaskStore
) -> None:
    with pytest.raises(ValueError, match="task 1: unknown task name 'nope'"):
        await client.submit_many([("noop",), ("nope",)])
    with pytest.raises(ValueError, match="task 0: payload is not JSON"):
        await client.submit_many([("echo", {1, 2})])
    with pytest.raises(ValueError, match="max_retries"):
        await client.submit_many([{"name": "noop", "max_retries": -1}])
    with pytest.raises(ValueError, match="task 1: delay"):  # nothing queued: not even task 0
        await client.submit_many([("noop",), {"name": "noop", "delay": -1}])
    assert await store.redis.xlen(keys.TASK_STREAM) == 0
    await client.submit("noop", task_id="x")
    await client.cancel("x")
    with pytest.raises(TaskExists):
        await client.submit_many([{"name": "noop", "task_id": "x"}])


async def test_a_submit_after_the_server_forgot_its_scripts_still_queues_once(
    client: Client, store: TaskStore
) -> None:
    """A restarted or flushed server has no scripts: the submit loads its script and
    sends it again (the first send did nothing), so the task is queued exactly once."""
    await client.submit("noop")  # the script is loaded now
    for submit in (lambda: client.submit("echo", 1), lambda: client.submit_many([("echo", 2)] * 3)):
        await store.redis.script_flush()
        before = await store.redis.xlen(keys.TASK_STREAM)
        queued = await submit()
        ids = [queued] if isinstance(queued, str) else queued
        entries = await store.redis.xrange(keys.TASK_STREAM)
        assert len(entries) == before + len(ids)
        tasks = [decode_task(fields[keys.TASK_FIELD.encode()]) for _, fields in entries]
        assert [task.id for task in tasks[before:]] == ids
        assert all(s.status is TaskStatus.PENDING for s in await store.get_many(ids))
