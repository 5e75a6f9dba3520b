"""The manager follows the one submit policy (backend/policy.py)."""

from __future__ import annotations

import httpx
import redis

from backend import keys
from backend.policy import MAX_NAME
from backend.protocol import TaskStatus, make_update
from backend.state import TaskState, encode_state
from tests.backend.manager.conftest import StartManager


def test_names_and_default_retries_follow_the_policy(start_manager: StartManager) -> None:
    base = start_manager(allowed_tasks="*", max_retries=7)
    refused = httpx.post(base + "/submit", json={"name": "n" * (MAX_NAME + 1)})
    assert refused.status_code == 422
    accepted = httpx.post(base + "/submit", json={"name": "n" * MAX_NAME})
    assert accepted.status_code == 200
    task = httpx.get(f"{base}/tasks/{accepted.json()['id']}").json()
    assert task["max_retries"] == 7


def test_a_completed_task_cannot_be_retried(
    start_manager: StartManager, sync_redis: redis.Redis
) -> None:
    base = start_manager()
    task_id = httpx.post(base + "/submit", json={"name": "noop"}).json()["id"]
    state = TaskState.model_validate(httpx.get(f"{base}/tasks/{task_id}").json())
    state.apply(make_update(task_id, TaskStatus.COMPLETED, worker="w", attempt=1, seq=1))
    sync_redis.hset(keys.TASK_STATES, task_id, encode_state(state))
    response = httpx.post(f"{base}/tasks/{task_id}/retry")
    assert response.status_code == 409
    assert "only failed or cancelled tasks can be retried" in response.json()["error"]
