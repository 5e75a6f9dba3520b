"""A dead worker's tasks are reclaimed; a live worker's long task is not stolen."""

from __future__ import annotations

import signal

import redis.asyncio as aioredis

from backend import keys
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    pending_entries,
    states_of,
    submit,
    wait_online,
    wait_states,
    wait_status,
)
from tests.waiting import eventually


async def test_tasks_of_a_killed_worker_all_complete(
    store: TaskStore, start_worker: StartWorker
) -> None:
    doomed = start_worker("--concurrency", "4", "--name", "doomed", "--claim-idle", "1")
    start_worker("--concurrency", "4", "--name", "survivor", "--claim-idle", "1")
    await wait_online(store, 2)
    ids = await submit(store, "sleep", 60, payload={"seconds": 0.15})

    async def doomed_is_busy() -> bool:
        states = await states_of(store, ids)
        return sum(1 for s in states if s and s.worker == "doomed") >= 6

    await eventually(doomed_is_busy, within=10)
    doomed.send_signal(signal.SIGKILL)
    states = await wait_states(store, ids, within=30)
    reclaimed = [s for s in states if s.attempt > 1]
    assert reclaimed, "the killed worker's running tasks were run again"
    assert all(s.worker == "survivor" for s in reclaimed)
    assert await pending_entries(store) == 0

    async def shows_offline() -> bool:
        return any(w.name == "doomed" and not w.online for w in await store.workers())

    await eventually(shows_offline, within=5)


async def test_a_long_task_of_a_live_worker_is_not_stolen(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "1", "--name", "first", "--claim-idle", "0.5")
    await wait_online(store, 1)
    [task_id] = await submit(store, "sleep", payload={"seconds": 2})
    [state] = await wait_states(store, [task_id], TaskStatus.PROCESSING, within=10)
    start_worker("--concurrency", "1", "--name", "second", "--claim-idle", "0.5")
    [state] = await wait_states(store, [task_id], within=10)
    assert (state.worker, state.attempt) == ("first", 1)
    assert [h.status for h in state.history].count(TaskStatus.PROCESSING) == 1


async def test_a_task_that_kills_its_worker_is_dead_lettered_after_five_deliveries(
    store: TaskStore, start_worker: StartWorker
) -> None:
    [task_id] = await submit(store, "exit_process", max_retries=0)
    starts = 0

    async def failed() -> bool:
        [state] = await states_of(store, [task_id])
        return state is not None and state.status is TaskStatus.FAILED

    while not await failed() and starts < 12:
        worker = start_worker("--tasks", "tests.backend.worker.sample_tasks", "--claim-idle", "0.5")
        starts += 1

        async def exited_or_done() -> bool:
            return worker.poll() is not None or await failed()  # noqa: B023

        await eventually(exited_or_done, within=20)
        assert worker.returncode in (None, 3), "the handler killed it, or it dead-lettered"
    state = await wait_status(store, task_id, TaskStatus.FAILED, within=15)
    assert state.error is not None and "killed its worker 5 times" in state.error
    [letter] = await store.dead_letters()
    assert letter["id"] == task_id and "killed its worker" in letter["error"]
    assert starts == 6, f"{starts} workers started: 5 killed, the sixth dead-lettered it"
    assert await pending_entries(store) == 0


async def test_a_go_workers_entry_waits_for_the_foreign_claim_idle(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    """A Go worker reads as consumer ``dispatcher`` and never renews its hold: its entry
    is left alone for ``--foreign-claim-idle``, not ``--claim-idle``."""
    [task_id] = await submit(store, "noop")
    [(_, [_])] = await aredis.xreadgroup(
        keys.WORKER_GROUP, "dispatcher", {keys.TASK_STREAM: ">"}, count=1
    )
    start_worker("--claim-idle", "0.3", "--foreign-claim-idle", "4", "--name", "ours")
    await wait_online(store, 1)

    async def held_long() -> bool:
        [row] = await aredis.xpending_range(keys.TASK_STREAM, keys.WORKER_GROUP, "-", "+", 1)
        assert row["consumer"] == b"dispatcher", "taken before the foreign limit"
        return int(row["time_since_delivered"]) >= 2500  # many times --claim-idle

    await eventually(held_long, within=10)
    [state] = await wait_states(store, [task_id], within=15)
    assert (state.worker, state.attempt) == ("ours", 2)
    assert await pending_entries(store) == 0


async def test_a_backlog_of_abandoned_entries_is_taken_as_fast_as_slots_free(
    store: TaskStore, start_worker: StartWorker
) -> None:
    """Forty quick tasks held by a consumer that is gone, one worker of two slots: it
    takes the next abandoned entries as soon as a slot frees, not a claim round later
    (a round is 2 s here: 20 rounds of 2 would take 40 s)."""
    ids = await submit(store, "sleep", 40, payload={"seconds": 0.05})
    await store.ensure_group()
    held = await store.read_first("gone", ["default"], 40, 0)
    assert len(held) == 40
    start_worker(
        "--concurrency", "2", "--claim-idle", "4", env={"DISTRITASK_FOREIGN_CLAIM_IDLE": "4"}
    )
    states = await wait_states(store, ids, within=25)
    assert not [s for s in states if s.worker == "gone"]
    assert await pending_entries(store) == 0
