"""Stopping: SIGTERM lets running tasks finish; a second signal exits at once."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from backend import keys
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    pending_entries,
    submit,
    wait_exit,
    wait_online,
    wait_states,
)
from tests.waiting import eventually


async def test_sigterm_lets_running_tasks_finish_then_exits_0(
    store: TaskStore, start_worker: StartWorker
) -> None:
    worker = start_worker("--concurrency", "3", "--name", "leaving")
    await wait_online(store, 1)
    ids = await submit(store, "sleep", 3, payload={"seconds": 1})
    await wait_states(store, ids, TaskStatus.PROCESSING, within=10)
    worker.send_signal(signal.SIGTERM)
    assert wait_exit(worker, within=10) == 0
    states = await wait_states(store, ids, within=1)
    assert all(s.worker == "leaving" and s.attempt == 1 for s in states)
    assert await pending_entries(store) == 0
    assert not await store.redis.exists(keys.worker_alive("leaving"))


async def test_a_second_signal_exits_at_once_leaving_the_task_pending(
    store: TaskStore, start_worker: StartWorker
) -> None:
    worker = start_worker("--concurrency", "1", "--grace-period", "60")
    [task_id] = await submit(store, "sleep", payload={"seconds": 60})
    await wait_states(store, [task_id], TaskStatus.PROCESSING, within=10)
    worker.send_signal(signal.SIGTERM)
    worker.send_signal(signal.SIGINT)
    assert wait_exit(worker, within=3) != 0
    assert await pending_entries(store) == 1


# -- whatever the handlers do, SIGTERM ends the worker within grace period + 5 s --------


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("sleep_sync", {"seconds": 3600}),  # a plain def: its thread cannot be stopped
        ("stubborn", {"seconds": 3600}),  # swallows every cancellation
        ("cpu_bound", {"seconds": 60}),  # holds the event loop: no loop signal handler runs
    ],
)
async def test_sigterm_ends_the_worker_in_time_whatever_its_handler_does(
    store: TaskStore, start_worker: StartWorker, name: str, payload: dict[str, float]
) -> None:
    worker = start_worker(
        "--tasks", "tests.backend.worker.sample_tasks", "--grace-period", "1", "--name", "w"
    )
    await wait_online(store, 1)
    await submit(store, name, payload=payload)

    async def taken() -> bool:
        return await pending_entries(store) == 1

    await eventually(taken, within=15)
    await asyncio.sleep(0.5)  # let the handler get going (nothing to wait on: it hangs)
    worker.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    wait_exit(worker, within=1 + 5 + 1)  # grace + 5 s (+1 s for a loaded machine)
    assert time.monotonic() - sent <= 1 + 5 + 1
