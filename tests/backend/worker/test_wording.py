"""Per-task wording (issue 13 item 7): each card says what its own handler does.

Real worker processes on the real server: only ``deploy_node`` (and the Go manager's
``ExampleTask``) keeps the original Go worker's messages; every other handler starts
neutral, then shows its own progress messages.
"""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from backend import keys
from backend.protocol import TaskStatus
from backend.state import TaskState
from backend.store import TaskStore
from tests.backend.worker.conftest import StartWorker, submit, wait_online, wait_states
from tests.waiting import eventually


def timeline(state: TaskState) -> list[tuple[str, str]]:
    """A task's status timeline as (status, message) rows."""
    return [(row.status.value, row.message) for row in state.history]


async def published(listener: PubSub, ids: list[str]) -> dict[str, list[str]]:
    """The messages published for ``ids``, read until each one's ``completed``."""
    said: dict[str, list[str]] = {task_id: [] for task_id in ids}
    open_ids = set(ids)
    async with asyncio.timeout(15):
        while open_ids:
            message = await listener.get_message(timeout=1.0)
            if message is None:
                continue
            update = json.loads(message["data"])
            if update["id"] in said:
                said[update["id"]].append(update["message"])
                if update["status"] == "completed":
                    open_ids.discard(update["id"])
    await listener.aclose()
    return said


async def test_a_sleep_task_shows_its_own_messages_not_the_deploy_wording(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    listener = aredis.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(keys.UPDATES_CHANNEL)
    start_worker("--name", "w-words")
    await wait_online(store, 1)
    [task_id] = await submit(store, "sleep", payload={"seconds": 1.5})

    async def sleeping() -> bool:
        state = await store.get(task_id)
        return state is not None and state.message == "Sleeping for 1.5 s"

    await eventually(sleeping, within=15)  # what its card says while it runs
    [state] = await wait_states(store, [task_id])
    assert timeline(state) == [
        ("pending", "Task queued"),
        ("processing", "Running sleep"),
        ("completed", "Completed"),
    ]
    said = (await published(listener, [task_id]))[task_id]
    assert said[-1] == "Completed" and "Sleeping for 1.5 s" in said
    # "Running sleep" may be superseded within one batch and not published
    assert set(said) <= {"Task queued", "Running sleep", "Sleeping for 1.5 s", "Completed"}


async def test_every_other_handler_starts_neutral_and_reports_its_progress(
    store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--tasks", "tests.backend.worker.sample_tasks")
    await wait_online(store, 1)
    noop = await submit(store, "noop")
    custom = await submit(store, "checksum", payload={"data": "abcd"})
    failing = await submit(store, "fail", payload={"message": "disk full"}, max_retries=0)
    [done] = await wait_states(store, noop)
    assert timeline(done) == [
        ("pending", "Task queued"),
        ("processing", "Running noop"),
        ("completed", "Completed"),
    ]
    [summed] = await wait_states(store, custom)
    assert timeline(summed)[1] == ("processing", "Running checksum")
    assert summed.message == "Completed" and summed.progress == 100
    [failed] = await wait_states(store, failing, TaskStatus.FAILED)
    assert timeline(failed)[1] == ("processing", "Running fail")
    assert failed.message == "Failed after 1 attempt(s): RuntimeError: disk full"


async def test_deploy_node_and_the_go_example_task_keep_the_original_wording(
    store: TaskStore, aredis: aioredis.Redis, start_worker: StartWorker
) -> None:
    listener = aredis.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(keys.UPDATES_CHANNEL)
    start_worker()
    await wait_online(store, 1)
    ids = await submit(store, "deploy_node", payload={"seconds": 0.5})
    ids += await submit(store, "ExampleTask", payload={"seconds": 0.5})
    for state in await wait_states(store, ids):
        assert timeline(state) == [
            ("pending", "Task queued"),
            ("processing", "Allocating resources and starting execution"),
            ("completed", "Task execution finalized successfully"),
        ]
    said = await published(listener, ids)
    for task_id in ids:
        assert said[task_id][:2] == ["Task queued", "Allocating resources and starting execution"]
        assert "Analyzing task payload and optimizing" in said[task_id]
