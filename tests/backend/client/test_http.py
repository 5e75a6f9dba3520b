"""Duplicate ids (client and HTTP) and the result in GET /tasks/{id}."""

from __future__ import annotations

import httpx
import pytest
import redis

from backend import keys
from backend.client import Client, TaskExists
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.client.conftest import StartWorker, wait_online
from tests.backend.manager.conftest import manager, start_manager  # noqa: F401 - fixtures


async def test_a_duplicate_id_is_queued_once_and_a_finished_one_needs_replace(
    client: Client, store: TaskStore, start_worker: StartWorker
) -> None:
    first = await client.submit("echo", 1, task_id="order-17")
    again = await client.submit("echo", 2, task_id="order-17")
    assert first == again == "order-17"
    assert await store.redis.xlen(keys.TASK_STREAM) == 1  # no second task queued
    # the same id twice in one batch, next to a fresh one
    ids = await client.submit_many(
        [{"name": "echo", "payload": 3, "task_id": "order-17"}, ("echo", 4)]
    )
    assert ids[0] == "order-17" and len(set(ids)) == 2
    assert await store.redis.xlen(keys.TASK_STREAM) == 2

    start_worker()
    await wait_online(store)
    assert await client.result("order-17", timeout=20) == 1  # the first submit's payload
    with pytest.raises(TaskExists, match="replace"):
        await client.submit("echo", 5, task_id="order-17")
    assert await client.submit("echo", 6, task_id="order-17", replace=True) == "order-17"
    assert await client.result("order-17", timeout=20) == 6
    state = await client.get("order-17")
    assert state is not None and state.status is TaskStatus.COMPLETED


def test_duplicate_ids_over_http(
    manager: str,  # noqa: F811 - the fixture
    sync_redis: redis.Redis,
) -> None:
    body = {"name": "noop", "task_id": "job-1"}
    first = httpx.post(manager + "/submit", json=body)
    assert first.status_code == 200 and first.json()["id"] == "job-1"
    assert "duplicate" not in first.json()
    again = httpx.post(manager + "/submit", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == "job-1" and again.json()["duplicate"] is True
    assert sync_redis.xlen(keys.TASK_STREAM) == 1

    cancelled = httpx.post(manager + "/tasks/job-1/cancel")
    assert cancelled.status_code == 202  # a pending task is cancelled at once: finished
    refused = httpx.post(manager + "/submit", json=body)
    assert refused.status_code == 409 and "replace" in refused.json()["error"]
    replaced = httpx.post(manager + "/submit", json={**body, "replace": True})
    assert replaced.status_code == 200 and "duplicate" not in replaced.json()
    assert sync_redis.xlen(keys.TASK_STREAM) == 2
    state = httpx.get(manager + "/tasks/job-1").json()
    assert state["status"] == "pending"
    many = httpx.post(manager + "/submit", json={**body, "count": 2})
    assert many.status_code == 422


async def test_the_result_is_in_get_task(
    manager: str,  # noqa: F811 - the fixture
    client: Client,
    store: TaskStore,
    start_worker: StartWorker,
) -> None:
    start_worker()
    await wait_online(store)
    async with httpx.AsyncClient(base_url=manager, timeout=10) as http:
        answer = await http.post("/submit", json={"name": "echo", "payload": {"k": "v"}})
        task_id = answer.json()["id"]
        assert await client.result(task_id, timeout=20) == {"k": "v"}
        state = (await http.get(f"/tasks/{task_id}")).json()
    assert state["status"] == "completed" and state["result"] == {"k": "v"}
