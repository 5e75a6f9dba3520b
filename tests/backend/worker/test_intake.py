"""Entries that cannot run are dead-lettered and acknowledged; the rest carry on."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from backend import keys
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    pending_entries,
    submit,
    wait_states,
    wait_status,
)
from tests.waiting import eventually


async def test_poison_entries_are_dead_lettered_while_work_continues(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "2")
    before = await submit(store, "noop", 20)
    await aredis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: "{not json"})
    await aredis.xadd(keys.TASK_STREAM, {"something": "else"})
    bad_task = json.dumps({"id": "bad-1", "name": "noop", "retries": -4})
    await aredis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: bad_task})
    after = await submit(store, "noop", 20)
    await wait_states(store, before + after)

    async def dead() -> list[dict[str, str]] | None:
        letters = await store.dead_letters()
        return letters if len(letters) == 3 else None

    letters = await eventually(dead, within=5)
    reasons = {letter["id"]: letter["error"] for letter in letters}  # type: ignore[attr-defined]
    assert "bad task" in reasons["bad-1"] and "retries" in reasons["bad-1"]
    assert any(f"no {keys.TASK_FIELD} field" in reason for reason in reasons.values())
    assert sum("bad task" in reason for reason in reasons.values()) == 2
    state = await wait_status(store, "bad-1", TaskStatus.FAILED)
    assert state.error is not None and "retries" in state.error
    assert await pending_entries(store) == 0


async def test_a_task_cancelled_while_queued_is_skipped(
    store: TaskStore, start_worker: StartWorker
) -> None:
    [task_id] = await submit(store, "sleep", payload={"seconds": 30})
    await store.request_cancel(task_id)
    start_worker()
    await eventually(lambda: _no_pending(store), within=10)
    state = await store.get(task_id)
    assert state is not None and state.status is TaskStatus.CANCELLED
    assert TaskStatus.PROCESSING not in [h.status for h in state.history]
    assert not await store.is_cancelled(task_id)


async def _no_pending(store: TaskStore) -> bool:
    depth = await store.queue_depth()
    return depth["lag"] == 0 and depth["pending"] == 0


async def test_an_entry_nested_too_deep_is_dead_lettered_and_reading_goes_on(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    worker = start_worker("--concurrency", "2", "--claim-idle", "0.5")
    deep = '{"id": "deep-1", "name": "noop", "payload": ' + "[" * 5000 + "]" * 5000 + "}"
    deeper = "[" * 5000 + "]" * 5000  # not even an object: the identity parse recurses too
    await aredis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: deep})
    await aredis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: deeper})
    ids = await submit(store, "noop", 5)
    await wait_states(store, ids, within=20)

    async def dead() -> list[dict[str, str]] | None:
        letters = await store.dead_letters()
        return letters if len(letters) == 2 else None

    letters = await eventually(dead, within=10)
    assert all(letter["error"] for letter in letters)  # type: ignore[union-attr]
    assert await pending_entries(store) == 0
    assert worker.poll() is None, "the worker is still serving"
    later = await submit(store, "noop", 3)
    await wait_states(store, later, within=20)
