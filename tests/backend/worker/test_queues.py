"""Named queues with real workers: strict priority, pause and resume, delayed tasks."""

from __future__ import annotations

import time

import pytest

from backend import keys
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import StartWorker, submit, wait_online, wait_states


async def test_a_worker_takes_every_high_task_before_any_low_one(
    store: TaskStore, start_worker: StartWorker
) -> None:
    low = await submit(store, "sleep", 20, payload={"seconds": 0.02}, queue="low")
    high = await submit(store, "sleep", 20, payload={"seconds": 0.02}, queue="high")
    start_worker("--queues", "high,low", "--concurrency", "2")
    states = await wait_states(store, [*high, *low], within=60)
    started = {state.id: state.started or 0.0 for state in states}
    assert max(started[i] for i in high) <= min(started[i] for i in low)
    # Each entry was acknowledged on its own queue's stream.
    for queue in ("high", "low"):
        [info] = await store.queue_infos([queue])
        assert (info.depth, info.lag, info.pending) == (0, 0, 0)


async def test_a_worker_leaves_queues_it_does_not_serve(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--queues", "high", "--name", "only-high")
    await wait_online(store, 1)
    [other] = await submit(store, "noop", queue="other")
    [mine] = await submit(store, "noop", queue="high")
    await wait_states(store, [mine])
    [info] = await store.queue_infos(["other"])
    assert info.lag == 1
    assert (await store.get(other)).status is TaskStatus.PENDING  # type: ignore[union-attr]


async def test_a_paused_queue_waits_across_a_worker_restart_until_resumed(
    store: TaskStore, start_worker: StartWorker
) -> None:
    await store.pause("jobs")
    worker = start_worker("--queues", "jobs,default", "--name", "w1")
    await wait_online(store, 1)
    paused = await submit(store, "noop", 3, queue="jobs")
    [other] = await submit(store, "noop")
    await wait_states(store, [other])  # the worker runs, just not that queue
    worker.terminate()
    worker.wait(timeout=30)
    start_worker("--queues", "jobs,default", "--name", "w2")
    [plain] = await submit(store, "noop")
    await wait_states(store, [plain])
    [info] = await store.queue_infos(["jobs"])
    assert info.paused and info.lag == 3 and info.depth == 3
    assert info.oldest_age is not None and info.oldest_age >= 0
    assert await store.resume("jobs")
    await wait_states(store, paused)
    [info] = await store.queue_infos(["jobs"])
    assert not info.paused and info.depth == 0


async def test_a_delayed_task_runs_at_its_time(store: TaskStore, start_worker: StartWorker) -> None:
    start_worker("--queues", "default,later")
    await wait_online(store, 1)
    due = time.time() + 1.5
    [task_id] = await submit(store, "noop", due=due, queue="later")
    state = await store.get(task_id)
    assert state is not None and state.scheduled and state.due == pytest.approx(due)
    [done] = await wait_states(store, [task_id], within=20)
    assert done.started is not None
    assert due - 0.01 <= done.started <= due + 0.5  # promoted on time, not by a poll
    assert not done.scheduled and done.queue == "later"


async def test_a_retry_waits_in_its_own_queue(store: TaskStore, start_worker: StartWorker) -> None:
    start_worker("--queues", "retrying")
    await wait_online(store, 1)
    [task_id] = await submit(store, "fail", queue="retrying", max_retries=2)
    [state] = await wait_states(store, [task_id], TaskStatus.FAILED, within=30)
    assert state.attempt == 3
    assert await store.redis.xlen(keys.TASK_STREAM) == 0  # never went to default
