"""Stopping: SIGTERM lets running tasks finish; a second signal exits at once."""

from __future__ import annotations

import signal

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
