"""A worker that read ahead for cheap tasks hands slow ones back to idle workers."""

from __future__ import annotations

from collections import deque

from backend import connection
from backend.outage import Outage
from backend.protocol import Task, TaskStatus, encode_task
from backend.store import TaskStore
from backend.worker.job import Job
from backend.worker.prefetch import hand_back_waiting
from backend.worker.running import Running
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


async def test_handing_back_wakes_the_slots_and_the_reader(store: TaskStore) -> None:
    """Jobs kept (broker away) or handed back change the queue behind the slots' and the
    reader's back: both are told, or a worker whose slots went idle meanwhile stops
    taking tasks for good (seen after a Sentinel failover)."""
    queue: deque[Job] = deque([_job(b"1-1"), _job(b"1-2")])
    changes: list[int] = []
    away = connection.client("redis://127.0.0.1:1", timeout=1.0)  # nothing listens there
    try:
        await hand_back_waiting(
            TaskStore(away), Outage(base=0.01), queue, changed=lambda: changes.append(len(queue))
        )
    finally:
        await away.aclose()
    assert changes == [2], "the jobs are kept, and the slots told so"
    await hand_back_waiting(store, Outage(), queue, changed=lambda: changes.append(len(queue)))
    assert changes == [2, 0], "room was made: the reader is told"


def _job(entry_id: bytes) -> Job:
    task = Task(name="noop")
    return Job(entry_id, encode_task(task), task, Running.from_task(task), 1, "w")
