"""Outcomes: retries with backoff then dead letters, unknown names, timeouts, cancels."""

from __future__ import annotations

from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    pending_entries,
    submit,
    wait_status,
)
from tests.waiting import eventually


async def test_fail_is_retried_then_dead_lettered(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "2")
    [task_id] = await submit(store, "fail", payload={"message": "disk full"}, max_retries=2)
    state = await wait_status(store, task_id, TaskStatus.FAILED)
    assert state.attempt == 3
    assert state.error == "RuntimeError: disk full"
    timeline = [(h.status, h.attempt) for h in state.history]
    assert timeline.count((TaskStatus.RETRYING, 1)) == 1
    assert timeline.count((TaskStatus.RETRYING, 2)) == 1
    [letter] = await store.dead_letters()
    assert letter["id"] == task_id and letter["error"] == "RuntimeError: disk full"
    counters = await store.counters()
    assert counters["retried"] == 2 and counters["failed"] == 1
    assert await pending_entries(store) == 0


async def test_unknown_names_and_timeouts_fail_with_the_reason(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "2")
    [unknown] = await submit(store, "no_such_task")
    [slow] = await submit(store, "sleep", payload={"seconds": 30}, timeout=0.3, max_retries=0)
    state = await wait_status(store, unknown, TaskStatus.FAILED)
    assert state.error == "no handler for task 'no_such_task'"
    state = await wait_status(store, slow, TaskStatus.FAILED)
    assert state.error == "timed out after 0.3 s"
    assert {letter["id"] for letter in await store.dead_letters()} == {unknown, slow}


async def test_a_running_task_is_interrupted_by_cancel(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "1")
    [task_id] = await submit(store, "sleep", payload={"seconds": 30})
    await wait_status(store, task_id, TaskStatus.PROCESSING)
    await store.request_cancel(task_id)
    state = await wait_status(store, task_id, TaskStatus.CANCELLED, within=5)
    assert state.message == "Cancelled while running"

    async def cleaned() -> bool:
        return await pending_entries(store) == 0 and not await store.is_cancelled(task_id)

    await eventually(cleaned, within=5)
