"""``distritask submit --wait --json``: one JSON object per task, with its result or error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from backend.store import TaskStore
from tests.backend.client.conftest import StartWorker, wait_online
from tests.conftest import ROOT


def submit(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "submit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url},
    )


async def test_submit_wait_json_prints_each_result_or_error(
    store: TaskStore, redis_url: str, start_worker: StartWorker
) -> None:
    start_worker()
    await wait_online(store)
    args = ("--name", "echo", "--payload", '{"n": [1, 2]}', "--count", "3", "--wait", "--json")
    done = submit(redis_url, *args)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 3 and len({line["id"] for line in lines}) == 3
    assert all(line["status"] == "completed" for line in lines)
    assert all(line["result"] == {"n": [1, 2]} for line in lines)

    failing = ("--name", "fail", "--payload", '{"message": "no disk"}', "--max-retries", "0")
    failed = submit(redis_url, *failing, "--wait", "--json")
    assert failed.returncode == 1
    [line] = [json.loads(text) for text in failed.stdout.splitlines()]
    assert line["status"] == "failed" and "no disk" in line["error"]

    queued = submit(redis_url, "--name", "noop", "--json")
    assert queued.returncode == 0
    [line] = [json.loads(text) for text in queued.stdout.splitlines()]
    assert line["status"] == "pending"
