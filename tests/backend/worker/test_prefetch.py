"""A worker that read ahead for cheap tasks hands slow ones back to idle workers."""

from __future__ import annotations

from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import StartWorker, submit, wait_online, wait_states


async def test_slow_tasks_prefetched_by_a_busy_worker_reach_an_idle_one(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--name", "eager", "--concurrency", "1")
    await wait_online(store, 1)
    # Many instant tasks teach "eager" to read far ahead of its single slot.
    await wait_states(store, await submit(store, "noop", 300))
    start_worker("--name", "idle", "--concurrency", "1")
    await wait_online(store, 2)
    # Long enough that scheduling jitter on a busy machine (hundreds of ms) cannot
    # decide who runs what; the hand-back acts after HAND_BACK_AFTER (0.5 s).
    slow = await submit(store, "sleep", 4, payload={"seconds": 2.5})
    states = await wait_states(store, slow, TaskStatus.COMPLETED, within=30)
    # Without handing back, "eager" holds three of them while "idle" idles after one.
    assert sorted(state.worker for state in states) == ["eager", "eager", "idle", "idle"]
