"""Workers end to end: real processes on the real server."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import redis.asyncio as aioredis

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


async def test_tasks_over_two_workers_each_complete_exactly_once(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "3", "--name", "w-a")
    start_worker("--concurrency", "3", "--name", "w-b")
    await wait_online(store, 2)
    slow = await submit(store, "sleep", 60, payload={"seconds": 0.02})
    fast = await submit(store, "noop", 600)
    states = await wait_states(store, slow + fast)
    assert all(s.attempt == 1 and s.progress == 100 for s in states)
    assert {s.worker for s in states} == {"w-a", "w-b"}
    assert [h.status for h in states[0].history] == [
        TaskStatus.PENDING,
        TaskStatus.PROCESSING,
        TaskStatus.COMPLETED,
    ]
    counters = await store.counters()
    assert counters["completed"] == len(slow) + len(fast)
    assert "failed" not in counters and not await store.dead_letters()
    assert await pending_entries(store) == 0

    async def reported() -> bool:
        workers = {w.name: w for w in await store.workers()}
        return sum(w.completed for w in workers.values()) == len(states)

    await eventually(reported, within=5)


async def test_go_format_entry_runs_as_deploy_node_with_go_readable_updates(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    pubsub = aredis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.UPDATES_CHANNEL)
    start_worker()
    entry = {
        "id": "go-task-1",
        "name": "ExampleTask",
        "payload": None,
        "status": 0,
        "retries": 0,
        "max_retries": 0,
        "created_at": "2024-05-01T10:00:00.123456789Z",
    }
    await aredis.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: json.dumps(entry)})
    seen: list[dict[str, object]] = []
    async with asyncio.timeout(15):
        while not seen or seen[-1]["status"] != "completed":
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                seen.append(json.loads(message["data"]))
    await pubsub.aclose()
    for update in seen:  # what the Go dashboard's page reads
        assert update["id"] == "go-task-1"
        assert update["status"] in ("processing", "completed")
        assert re.fullmatch(r"\d\d:\d\d:\d\d", str(update["time"]))
        assert isinstance(update["worker"], str) and update["worker"]
        assert isinstance(update["message"], str)
    messages = [u["message"] for u in seen]
    assert messages[0] == "Allocating resources and starting execution"
    assert "Analyzing task payload and optimizing" in messages
    assert messages[-1] == "Task execution finalized successfully"
    progress = [int(u["progress"]) for u in seen]  # type: ignore[call-overload]
    assert progress == sorted(progress) and progress[-1] == 100
    state = await store.get("go-task-1")
    assert state is not None and state.status is TaskStatus.COMPLETED
    assert state.name == "ExampleTask"
    assert await pending_entries(store) == 0


async def test_handlers_from_a_tasks_module_run_with_progress(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    start_worker("--tasks", "tests.backend.worker.sample_tasks")
    await wait_online(store, 1)
    pubsub = aredis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.UPDATES_CHANNEL)
    await submit(store, "checksum", payload={"data": "abc"})
    seen: list[dict[str, object]] = []
    async with asyncio.timeout(10):
        while not seen or seen[-1]["status"] != "completed":
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                seen.append(json.loads(message["data"]))
    await pubsub.aclose()
    progress = [(u["status"], u.get("progress"), u["message"]) for u in seen]
    assert ("processing", 50, "summing 3 bytes") in progress


def test_an_unimportable_tasks_module_exits_2_with_the_reason(start_worker: StartWorker) -> None:
    worker = start_worker("--tasks", "no_such_module_here")
    assert worker.wait(timeout=20) == 2


async def test_a_worker_whose_reader_dies_exits_non_zero_not_online_idle(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker, tmp_path: Path
) -> None:
    worker = start_worker("--concurrency", "2", "--name", "doomed-reader")
    log_file = tmp_path / "worker-0.log"

    async def ready() -> bool:
        return "ready" in log_file.read_text()

    await eventually(ready, within=15)
    async with aredis.pipeline(transaction=True) as replace:  # no read sees it missing
        replace.delete(keys.TASK_STREAM)
        replace.set(keys.TASK_STREAM, "not a stream")  # every read now answers WRONGTYPE
        await replace.execute()
    assert wait_exit(worker, within=20) == 1
    log = log_file.read_text()
    assert "internal error" in log and "WRONGTYPE" in log, log[-2000:]
