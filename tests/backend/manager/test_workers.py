"""``POST /workers/{name}/drain`` and ``/stop``: real workers obey them; the token, a
foreign origin, a non-JSON body, unknown, offline and Go workers are refused clearly."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import redis

from backend import keys
from tests.backend.manager.conftest import StartManager
from tests.waiting import eventually_sync

Spawn = Callable[..., subprocess.Popen[bytes]]
FAST = {"DISTRITASK_HEARTBEAT_TTL": "2"}


def online(base: str, name: str) -> bool:
    workers = httpx.get(base + "/workers").json()["workers"]
    return any(w["name"] == name and w["online"] for w in workers)


def test_drain_and_stop_reach_the_named_worker(
    start_manager: StartManager, spawn: Spawn, sync_redis: redis.Redis
) -> None:
    base = start_manager()
    first = spawn("worker", "--name", "first", env=FAST)
    second = spawn("worker", "--name", "second", env=FAST)
    eventually_sync(lambda: online(base, "first") and online(base, "second"), within=20)

    drained = httpx.post(base + "/workers/first/drain")
    assert drained.status_code == 202
    assert drained.json()["worker"] == "first" and drained.json()["order"] == "drain"
    assert drained.json()["heard"] >= 2
    assert first.wait(timeout=15) == 0
    assert second.poll() is None  # the order named only "first"
    eventually_sync(lambda: not online(base, "first"), within=10)
    again = httpx.post(base + "/workers/first/drain")
    assert again.status_code == 409 and "offline" in again.json()["error"]

    stopped = httpx.post(base + "/workers/second/stop")
    assert stopped.status_code == 202 and stopped.json()["order"] == "stop"
    assert second.wait(timeout=15) == 0

    missing = httpx.post(base + "/workers/nobody/stop")
    assert missing.status_code == 404 and "nobody" in missing.json()["error"]
    sync_redis.hset(keys.SEEN_WORKERS, "dispatcher", time.time())
    go = httpx.post(base + "/workers/dispatcher/drain")
    assert go.status_code == 409 and "control" in go.json()["error"]


def test_the_token_guards_worker_orders(start_manager: StartManager, spawn: Spawn) -> None:
    base = start_manager(api_token="s3cret")
    worker = spawn("worker", "--name", "guarded", env=FAST)
    eventually_sync(lambda: online(base, "guarded"), within=20)
    for order in ("drain", "stop"):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = httpx.post(f"{base}/workers/guarded/{order}", headers=headers)
            assert refused.status_code == 401, (order, headers)
    token = {"Authorization": "Bearer s3cret"}
    for order in ("drain", "stop"):  # a foreign web page cannot order a worker, token or not
        foreign = httpx.post(
            f"{base}/workers/guarded/{order}", headers={**token, "Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403, order
        text = httpx.post(
            f"{base}/workers/guarded/{order}",
            content=b"x",
            headers={**token, "Content-Type": "text/plain"},
        )
        assert text.status_code == 415, order
    assert worker.poll() is None
    allowed = httpx.post(base + "/workers/guarded/stop", headers={"Authorization": "Bearer s3cret"})
    assert allowed.status_code == 202
    assert worker.wait(timeout=15) == 0
