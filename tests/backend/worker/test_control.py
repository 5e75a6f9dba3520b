"""Orders on the control channel: drain a worker, stop one now, ignore garbage."""

from __future__ import annotations

from backend import __version__, keys
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    submit,
    wait_exit,
    wait_online,
    wait_states,
    wait_status,
)
from tests.waiting import eventually


async def offline(store: TaskStore, name: str) -> bool:
    info = await store.worker(name)
    return info is not None and not info.online


async def test_drain_finishes_the_running_task_takes_no_new_one_and_exits_0(
    store: TaskStore, start_worker: StartWorker
) -> None:
    worker = start_worker("--concurrency", "1", "--name", "drained", "--grace-period", "0")
    await wait_online(store, 1)
    info = await store.worker("drained")
    assert info is not None and info.version == __version__ and info.pid == worker.pid
    [running] = await submit(store, "sleep", payload={"seconds": 2})
    await wait_status(store, running, TaskStatus.PROCESSING)
    assert await store.drain_worker("drained") >= 1
    await eventually(lambda: _draining(store, "drained"), within=5, what="draining shown")
    [later] = await submit(store, "sleep", payload={"seconds": 0})
    # Even with no grace period at all, a drained worker lets its task finish.
    assert wait_exit(worker, within=20) == 0
    [done] = await wait_states(store, [running], within=2)
    assert done.worker == "drained" and done.attempt == 1
    [waiting] = await wait_states(store, [later], TaskStatus.PENDING, within=2)
    assert waiting.worker in ("", None) or waiting.attempt <= 1
    assert await offline(store, "drained")


async def _draining(store: TaskStore, name: str) -> bool:
    info = await store.worker(name)
    return info is not None and info.draining


async def test_stop_now_exits_at_once_and_another_worker_reclaims_the_task(
    store: TaskStore, start_worker: StartWorker
) -> None:
    quick = {"DISTRITASK_CLAIM_IDLE": "1"}  # the other takes the task 1 s after the stop
    worker = start_worker("--concurrency", "1", "--name", "stopped", env=quick)
    await wait_online(store, 1)
    [task_id] = await submit(store, "sleep", payload={"seconds": 120})
    await wait_status(store, task_id, TaskStatus.PROCESSING)
    other = start_worker("--concurrency", "1", "--name", "other", env=quick)
    await wait_online(store, 2)
    assert await store.stop_worker("stopped") >= 2
    assert wait_exit(worker, within=5) == 0
    assert await offline(store, "stopped")

    async def taken_over() -> bool:
        [state] = await wait_states(store, [task_id], TaskStatus.PROCESSING, within=30)
        return state.worker == "other" and state.attempt == 2

    await eventually(taken_over, within=30, what="the task reclaimed by the other worker")
    await store.stop_worker("other")
    assert wait_exit(other, within=5) == 0


async def test_unknown_garbled_and_foreign_orders_are_ignored(
    store: TaskStore, start_worker: StartWorker
) -> None:
    worker = start_worker("--concurrency", "1", "--name", "steady")
    await wait_online(store, 1)
    for message in (
        b"not json",
        b"\xff\xfe",
        b'{"reboot": "steady"}',
        b'{"drain": "steady", "stop": "steady"}',
        b'{"drain": ""}',
        b"[1, 2]",
        b'{"drain": "someone-else"}',
        b'{"stop": "someone-else"}',
    ):
        await store.redis.publish(keys.CONTROL_CHANNEL, message)
    ids = await submit(store, "sleep", 2, payload={"seconds": 0})
    await wait_states(store, ids, within=10)
    assert worker.poll() is None
    info = await store.worker("steady")
    assert info is not None and info.online and not info.draining
    worker.terminate()
    assert wait_exit(worker, within=10) == 0


async def test_an_order_sent_before_the_worker_listened_is_still_obeyed(
    store: TaskStore, start_worker: StartWorker
) -> None:
    await store.drain_worker("late")  # no worker of that name listens yet
    worker = start_worker("--concurrency", "1", "--name", "late")
    assert wait_exit(worker, within=20) == 0
    assert await store.take_worker_order("late") is None  # taken: a successor is not drained
    again = start_worker("--concurrency", "1", "--name", "late")
    await wait_online(store, 1)
    assert again.poll() is None
    await store.stop_worker("late")
    assert wait_exit(again, within=10) == 0
    assert await store.take_worker_order("late") is None
