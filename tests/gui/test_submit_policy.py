"""The panel follows the one submit policy (backend/policy.py): names, default
retries from DISTRITASK_MAX_RETRIES, and no retry of a completed task."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from pytestqt.qtbot import QtBot

from backend import keys
from backend.config import load_settings
from backend.policy import MAX_NAME, SubmitPolicy
from backend.protocol import TaskStatus, decode_task, make_update
from backend.state import encode_state
from distritask_gui.bridge import Bridge
from distritask_gui.submit_dialog import check_name
from tests.gui.conftest import Run


@pytest.fixture
def bridge(redis_url: str, qtbot: QtBot, run_async: Run[Any]) -> Any:
    settings = load_settings(max_retries=7)
    bridge = Bridge(redis_url, policy=SubmitPolicy.from_settings(settings))
    bridge.start()
    qtbot.waitUntil(lambda: bridge.state == "connected", timeout=10_000)
    yield bridge
    run_async(bridge.stop())


def test_submitted_tasks_get_the_configured_retries(
    bridge: Bridge, run_async: Run[Any], sync_redis: redis.Redis
) -> None:
    [state] = run_async(bridge.actions.submit_tasks("noop", None, 1))
    [(_, fields)] = sync_redis.xrange(keys.TASK_STREAM)
    assert decode_task(fields[keys.TASK_FIELD.encode()]).max_retries == 7 == state.max_retries
    with pytest.raises(ValueError, match="unknown task name"):
        run_async(bridge.actions.submit_tasks("deploy_nod", None, 1))
    with pytest.raises(ValueError, match="at most 100 characters"):
        check_name("n" * (MAX_NAME + 1))


def test_a_completed_task_is_not_retried(
    bridge: Bridge, run_async: Run[Any], sync_redis: redis.Redis, qtbot: QtBot
) -> None:
    [state] = run_async(bridge.actions.submit_tasks("noop", None, 1))
    state.apply(make_update(state.id, TaskStatus.COMPLETED, worker="w", attempt=1, seq=1))
    sync_redis.hset(keys.TASK_STATES, state.id, encode_state(state))
    with qtbot.waitSignal(bridge.actions.message, timeout=5000) as said:
        bridge.actions.retry(state.id)
    assert "only failed or cancelled tasks can be retried" in said.args[0]
    assert sync_redis.xlen(keys.TASK_STREAM) == 1  # not queued again
