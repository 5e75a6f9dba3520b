"""Results through the client, against the real server and real worker processes."""

from __future__ import annotations

import asyncio

import pytest

from backend.broker import EmbeddedBroker
from backend.client import BlockingClient, Client, TaskCancelled, TaskFailed, TaskNotFound
from backend.client.waiting import task_id_of, unfinished
from backend.protocol import TaskStatus, encode_update, make_update
from backend.results import INLINE_LIMIT
from backend.store import TaskStore
from tests.backend.client import result_tasks
from tests.backend.client.conftest import StartWorker, wait_online
from tests.waiting import eventually

assert result_tasks  # imported: its handlers' names may be submitted from here


async def test_a_result_round_trip_through_the_async_client(
    client: Client, store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker()
    await wait_online(store)
    payload = {"hello": ["world", 1, 2.5, None, True]}
    task_id = await client.submit("echo", payload)
    assert await client.result(task_id, timeout=20) == payload
    state = await client.get(task_id)
    assert state is not None and state.status is TaskStatus.COMPLETED
    assert state.result == payload
    # one subscription serves every waiting call, whatever finishes first
    ids = [await client.submit("echo", n) for n in range(50)]
    assert await asyncio.gather(*(client.result(i, timeout=20) for i in ids)) == list(range(50))


async def test_a_result_round_trip_over_tcp(
    broker: EmbeddedBroker, redis_url: str, start_worker: StartWorker
) -> None:
    """What a REDIS_URL of another machine's server does: every part over TCP (the
    embedded server's own parts use its Unix socket)."""
    assert redis_url.startswith("unix://")
    start_worker(env={"REDIS_URL": broker.tcp_url})
    async with Client(broker.tcp_url) as client:
        await wait_online(await client.store())
        task_id = await client.submit("echo", {"over": "tcp"})
        assert await client.result(task_id, timeout=20) == {"over": "tcp"}
        named = [
            c
            for c in await (await client.store()).redis.client_list()
            if c["name"].startswith("distritask:")
        ]  # the worker's connections
        assert named and all(c["addr"].startswith("127.0.0.1:") for c in named)


def test_a_result_round_trip_through_the_blocking_client(
    redis_url: str, sync_redis: object, start_worker: StartWorker
) -> None:
    start_worker()
    with BlockingClient(redis_url) as client:
        task_id = client.submit("echo", "ping")
        assert client.result(task_id, timeout=30) == "ping"
        got = client.get(task_id)
        assert got is not None and got.result == "ping"
        assert [s.id for s in client.list_tasks(status="completed")] == [task_id]
        with pytest.raises(TaskFailed, match="boom"):
            client.result(client.submit("fail", {"message": "boom"}, max_retries=0), 30)


async def test_failed_and_cancelled_tasks_raise(
    client: Client, store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker()
    await wait_online(store)
    failing = await client.submit("fail", {"message": "disk full"}, max_retries=1)
    with pytest.raises(TaskFailed) as failed:
        await client.result(failing, timeout=20)
    assert "disk full" in failed.value.error
    assert failed.value.task_id == failing

    sleeping = await client.submit("sleep", 30)
    waiting = asyncio.create_task(client.result(sleeping, timeout=20))

    async def running() -> bool:
        state = await client.get(sleeping)
        return state is not None and state.status is TaskStatus.PROCESSING

    await eventually(running, within=20)
    await client.cancel(sleeping)
    with pytest.raises(TaskCancelled):
        await waiting
    # a task that had already finished answers at once, from its state
    with pytest.raises(TaskCancelled):
        await client.result(sleeping, timeout=1)


async def test_no_task_and_no_result_in_time(client: Client) -> None:
    with pytest.raises(TaskNotFound):
        await client.result("no-such-task", timeout=1)
    queued = await client.submit("noop")  # no worker runs it
    with pytest.raises(TimeoutError, match="did not finish"):
        await client.result(queued, timeout=0.2)


async def test_results_that_are_not_json_or_too_large_fail_the_task_saying_so(
    client: Client, store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker(env={"DISTRITASK_MAX_RESULT": str(64 * 1024)})
    await wait_online(store)
    with pytest.raises(TaskFailed, match="not JSON-serialisable") as not_json:
        await client.result(await client.submit("not_json"), timeout=20)
    assert "set" in not_json.value.error
    too_big = await client.submit("sized", 64 * 1024 + 1)
    with pytest.raises(TaskFailed, match=r"over the limit of 65,536 .*DISTRITASK_MAX_RESULT"):
        await client.result(too_big, timeout=20)
    state = await client.get(too_big)
    assert state is not None and state.status is TaskStatus.FAILED and state.result is None
    # larger than a status update carries, within the limit: read from the state
    large = await client.submit("sized", INLINE_LIMIT + 10)
    assert await client.result(large, timeout=20) == "x" * (INLINE_LIMIT + 10)


async def test_a_task_submitted_while_subscribed_needs_no_read_of_its_state(
    client: Client, redis_url: str, store: TaskStore, start_worker: StartWorker
) -> None:
    """Its outcome is kept as its update arrives: result() answers from it even when
    the state is gone by then (here forgotten on purpose), where a client that did
    not submit the task reads the state and finds none."""
    start_worker()
    await wait_online(store)
    assert await client.result(await client.submit("echo", 0), timeout=20) == 0  # subscribed
    task_id = await client.submit("echo", {"n": 1})

    async def finished() -> bool:
        state = await store.get(task_id)
        return state is not None and state.status is TaskStatus.COMPLETED

    await eventually(finished, within=20)
    await store.forget([task_id])
    assert await client.result(task_id, timeout=5) == {"n": 1}
    async with Client(redis_url) as other:
        with pytest.raises(TaskNotFound):
            await other.result(task_id, timeout=5)


def test_only_updates_of_finished_tasks_are_decoded() -> None:
    """A waiter decodes an update only when its first bytes do not already say the task
    is unfinished; any update it cannot read that way is decoded."""
    for status in TaskStatus:
        for task_id in ("ab-1", "é-2", 'odd "id"'):
            update = make_update(task_id, status, worker="w", message="m", seq=1)
            data = encode_update(update).encode()
            found = task_id_of(data)
            assert found == task_id
            assert unfinished(data, found) is (not status.terminal and '"' not in task_id)
    assert not unfinished(b'{"status":"pending","id":"x"}', "x")  # another field order
    assert not unfinished(b'{"id":"x","status":"pending', "x")  # cut short
