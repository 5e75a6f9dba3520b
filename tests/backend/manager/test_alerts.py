"""``GET /alerts`` and the alert gauges, with real workers, a real broker and shortened
thresholds: each alert fires once, then resolves when its condition clears."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import redis

from backend.broker import EmbeddedBroker
from tests.backend.manager.conftest import StartManager
from tests.conftest import Spawn, free_port
from tests.waiting import eventually_sync

WITHIN = 40.0
QUICK = 0.25
"""Seconds between the manager's checks here (2 by default): each test waits on its
alert, not on the default period."""


def alerts_of(base: str, kind: str, subject: str | None = None) -> list[dict[str, Any]]:
    found = httpx.get(base + "/alerts", timeout=5).json()["alerts"]
    return [a for a in found if a["kind"] == kind and subject in (None, a["subject"])]


def fires(base: str, kind: str, subject: str | None = None) -> dict[str, Any]:
    """Wait for an active alert of ``kind``; it."""

    def active() -> dict[str, Any] | None:
        return next((a for a in alerts_of(base, kind, subject) if a["resolved"] is None), None)

    return eventually_sync(active, within=WITHIN, what=f"a {kind} alert")


def resolves(base: str, alert: dict[str, Any]) -> dict[str, Any]:
    """Wait for ``alert`` to be resolved; check it was the only one, raised once."""

    def resolved() -> list[dict[str, Any]] | None:
        found = alerts_of(base, alert["kind"], alert["subject"])
        return found if all(a["resolved"] for a in found) else None

    found = eventually_sync(resolved, within=WITHIN, what=f"the {alert['kind']} alert to resolve")
    assert [(a["id"], a["times"]) for a in found] == [(alert["id"], 1)]
    return found[0]


def gauge(base: str, kind: str) -> float:
    for line in httpx.get(base + "/metrics", timeout=5).text.splitlines():
        if line.startswith(f"distritask_alert_{kind} "):
            return float(line.split()[1])
    raise AssertionError(f"no gauge for {kind}")


def submit(base: str, **body: Any) -> list[str]:
    answer = httpx.post(base + "/submit", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return list(answer.json().get("ids") or [answer.json()["id"]])


def test_a_worker_lost_with_a_task_in_flight(start_manager: StartManager, spawn: Spawn) -> None:
    base = start_manager(alert_check_every=QUICK)
    victim = spawn("worker", "--name", "victim", "--heartbeat-ttl", "1")
    (task,) = submit(base, name="sleep", payload={"seconds": 60})
    eventually_sync(
        lambda: httpx.get(f"{base}/tasks/{task}").json()["status"] == "processing",
        within=WITHIN,
        what="the task to start",
    )
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    alert = fires(base, "worker_lost", "victim")
    assert "1 task(s) in flight" in alert["message"]
    assert gauge(base, "worker_lost") == 1
    # takes the task over (and, stopped at the end, leaves it: no 60 s grace)
    spawn("worker", "--name", "heir", "--claim-idle", "1", "--grace-period", "0")
    resolves(base, alert)
    assert gauge(base, "worker_lost") == 0


def test_tasks_waiting_in_a_queue_no_worker_reads(
    start_manager: StartManager, spawn: Spawn
) -> None:
    base = start_manager(alert_no_consumer_after=1, alert_check_every=QUICK)
    submit(base, name="noop", count=2)
    alert = fires(base, "no_consumer", "default")
    assert alert["subject_kind"] == "queue" and "2 task(s) wait" in alert["message"]
    spawn("worker")
    resolves(base, alert)


def test_a_named_queue_no_worker_reads_and_a_paused_one(
    start_manager: StartManager, spawn: Spawn
) -> None:
    """Every queue is watched, not only ``default``; a paused queue is unread on purpose."""
    base = start_manager(alert_no_consumer_after=1, alert_check_every=QUICK)
    spawn("worker")  # reads default only
    assert httpx.post(base + "/queues/later/pause", timeout=5).status_code == 200
    submit(base, name="noop", count=2, queue="later")
    submit(base, name="noop", count=3, queue="reports")
    alert = fires(base, "no_consumer", "reports")
    assert "3 task(s) wait in queue reports" in alert["message"]
    spawn("worker", "--queues", "reports")
    resolves(base, alert)
    assert alerts_of(base, "no_consumer", "later") == []
    assert alerts_of(base, "no_consumer", "default") == []


def test_a_dead_lettered_task_and_the_failure_rate(
    start_manager: StartManager, spawn: Spawn
) -> None:
    base = start_manager(alert_failure_rate=0.5, alert_check_every=QUICK)
    spawn("worker", "--concurrency", "4")
    (task,) = submit(base, name="fail", max_retries=0, payload={"message": "boom"})
    dead = fires(base, "dead_letter", task)
    assert dead["subject_kind"] == "task" and "boom" in dead["message"]
    rate = fires(base, "failure_rate")
    assert "100%" in rate["message"]
    submit(base, name="noop", count=3)  # 1 failed of 4 finished: 25 % < 50 %
    resolves(base, rate)
    (letter,) = httpx.get(base + "/dead-letters").json()["entries"]
    assert letter["task_id"] == task
    deleted = httpx.post(base + "/dead-letters/delete", json={"ids": [letter["entry"]]})
    assert deleted.json()["deleted"] == 1  # the operator deals with it
    resolves(base, dead)


def test_memory_above_the_threshold(start_manager: StartManager, sync_redis: redis.Redis) -> None:
    used = int(sync_redis.info("memory")["used_memory"])
    base = start_manager(alert_memory_bytes=used + 8 * 2**20, alert_check_every=QUICK)
    sync_redis.set("distritask:test:ballast", b"x" * 16 * 2**20)
    alert = fires(base, "memory", "broker")
    assert "MiB" in alert["message"]
    sync_redis.delete("distritask:test:ballast")
    resolves(base, alert)


def test_the_broker_unreachable(start_manager: StartManager, tmp_path: Path) -> None:
    broker = EmbeddedBroker(tmp_path / "broker", free_port())
    broker.start()
    try:
        base = start_manager(broker.url, alert_broker_down_after=1, alert_check_every=QUICK)
        eventually_sync(lambda: httpx.get(base + "/health").status_code == 200, what="the manager")
        broker.stop()
        alert = fires(base, "broker_down")
        assert alert["subject_kind"] == "broker" and "unreachable" in alert["message"]
        broker.start()
        resolves(base, alert)
    finally:
        broker.stop()
