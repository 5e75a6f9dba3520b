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


async def test_a_handler_that_tries_to_exit_fails_its_task_not_the_worker(
    store: TaskStore, start_worker: StartWorker
) -> None:
    worker = start_worker("--tasks", "tests.backend.worker.sample_tasks", "--concurrency", "2")
    exits = await submit(store, "sys_exit", max_retries=0)  # SystemExit in a thread
    interrupts = await submit(store, "keyboard_interrupt", max_retries=0)
    for task_id, kind in ((exits[0], "SystemExit"), (interrupts[0], "KeyboardInterrupt")):
        state = await wait_status(store, task_id, TaskStatus.FAILED, within=15)
        assert state.error is not None and state.error.startswith(kind), state.error
        assert "tried to stop its worker" in state.error
    later = await submit(store, "noop", 3)
    for task_id in later:
        await wait_status(store, task_id, TaskStatus.COMPLETED, within=15)
    assert worker.poll() is None
    assert await pending_entries(store) == 0


async def test_a_handler_that_ignores_its_timeout_is_reported_and_its_slot_freed(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--tasks", "tests.backend.worker.sample_tasks", "--concurrency", "1")
    [stuck] = await submit(store, "stubborn", payload={"seconds": 60}, timeout=0.5, max_retries=0)
    state = await wait_status(store, stuck, TaskStatus.FAILED, within=15)
    assert state.error is not None and "did not stop after its timeout" in state.error
    [after] = await submit(store, "noop")  # the one slot is free again
    await wait_status(store, after, TaskStatus.COMPLETED, within=10)
    [letter] = await store.dead_letters()
    assert letter["id"] == stuck and "did not stop after its timeout" in letter["error"]
