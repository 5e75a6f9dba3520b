"""The manager as users run it (``distritask manager``, a real process), with a real
worker when the worker part exists."""

from __future__ import annotations

import importlib.util
import subprocess
import time

import httpx
import pytest

from tests.conftest import Spawn, free_port
from tests.waiting import eventually_sync


def start(spawn: Spawn, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = spawn("manager", "--port", str(port), *args)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "the manager exited"
        try:
            return httpx.get(base + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    eventually_sync(healthy, within=20, what="the manager to answer")
    return process, base


def test_the_manager_process_serves_and_stops_on_sigterm(spawn: Spawn) -> None:
    process, base = start(spawn)
    assert httpx.post(base + "/submit").json()["message"] == "Task enqueued successfully!"
    process.terminate()
    assert process.wait(timeout=10) == 0


@pytest.mark.skipif(
    importlib.util.find_spec("backend.worker") is None, reason="backend.worker not written yet"
)
def test_a_task_submitted_over_http_is_run_by_a_worker(spawn: Spawn) -> None:
    _, base = start(spawn)
    spawn("worker", "--concurrency", "2")
    ids = httpx.post(base + "/submit", json={"name": "noop", "count": 3}).json()["ids"]

    def all_completed() -> bool:
        states = [httpx.get(f"{base}/tasks/{i}").json()["status"] for i in ids]
        return states == ["completed"] * 3

    began = time.monotonic()
    eventually_sync(all_completed, within=30, what="the worker to complete the tasks")
    assert time.monotonic() - began < 30
    stats = httpx.get(base + "/stats").json()
    assert stats["totals"]["completed"] == 3
    assert stats["workers"]["online"] == 1
