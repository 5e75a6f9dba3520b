"""The panel watching a Go deployment: a faithful Go worker (tests/go_peers.py) on our broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis
from pytestqt.qtbot import QtBot

from backend import keys
from backend.protocol import Task, TaskStatus
from backend.state import decode_state
from distritask_gui.task_model import QUEUE
from tests.conftest import ROOT
from tests.go_peers import GO_WORKERS, go_manager, go_worker
from tests.gui.conftest import Open, Run
from tests.gui.test_panel import _submit


def test_a_go_worker_shows_as_workers_its_cards_move_and_the_queue_knows_it_consumes(
    redis_url: str, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    queue = window.board.columns[QUEUE]
    assert "waiting for a worker" in queue.subtitle.text()
    with go_worker(redis_url, pauses=(0.6, 0.6)):
        # a consumer of the group, though it sends no heartbeat
        qtbot.waitUntil(lambda: "taking tasks" in queue.subtitle.text(), timeout=10_000)
        [task_id] = _submit(redis_url, run_async, Task(name="deploy_node"))
        running = {}

        def seen_running() -> bool:
            state = window.tasks.state(task_id)
            if state is not None and state.status is TaskStatus.PROCESSING:
                running[state.worker] = state.progress
            return bool(running)

        qtbot.waitUntil(seen_running, timeout=10_000)
        assert set(running) <= set(GO_WORKERS) and set(running.values()) == {65}
        qtbot.waitUntil(
            lambda: (
                (s := window.tasks.state(task_id)) is not None and s.status is TaskStatus.COMPLETED
            ),
            timeout=10_000,
        )
        [worker] = running
        column = window.board.column(worker)
        assert column is not None and "no heartbeat" in column.subtitle.text()
        # latency from the submission time and the completion's arrival (Go sends no time)
        qtbot.waitUntil(lambda: "latency p50" in window.footer.latency.text(), timeout=5000)


def test_a_panel_alone_records_go_only_tasks_for_late_joiners(
    redis_url: str, open_panel: Open, qtbot: QtBot
) -> None:
    """No manager or dashboard runs: the panel is the only follower of ours, so it stores
    what the Go manager and a Go worker only publish (issue 16.2)."""
    open_panel(redis_url)
    with redis.Redis.from_url(redis_url) as plain:

        def recorded_status() -> str | None:
            raw = plain.hget(keys.TASK_STATES, task_id)
            return None if raw is None else str(decode_state(raw).status)

        with go_worker(redis_url, pauses=(0.2, 0.2)), go_manager(redis_url) as manager:
            task_id = manager.submit()
            qtbot.waitUntil(lambda: recorded_status() == "completed", timeout=15_000)
        assert plain.zscore(keys.TASK_INDEX, task_id) is not None  # retention trims it


def test_screenshot_on_a_go_deployment_submits_and_renders(
    redis_url: str, sync_redis: redis.Redis, tmp_path: Path
) -> None:
    shot = tmp_path / "go.png"
    with go_worker(redis_url, pauses=(0.3, 0.3)) as go:
        result = subprocess.run(
            [sys.executable, "-m", "distritask_gui", "--screenshot", str(shot)],
            cwd=ROOT,
            env={**os.environ, "REDIS_URL": redis_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "gave up waiting for the workers" not in result.stderr
        assert shot.stat().st_size > 10_000
        assert "screenshot saved" in result.stdout
    submitted = set(sync_redis.hkeys(keys.TASK_STATES))
    assert go.completed and {i.encode() for i in go.completed} <= submitted  # it ran them
