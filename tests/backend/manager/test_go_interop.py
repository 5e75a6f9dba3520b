"""A mixed deployment: the Go manager and Go workers (played faithfully by
``tests/go_peers.py``) with our manager and dashboard. Go updates carry no attempt,
seq, progress or ts; they still land, get recorded for late joiners, and Go workers
show as workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
from websockets.asyncio.client import connect

from backend import keys
from backend.config import load_settings
from backend.dashboard import serve_dashboard
from backend.protocol import TaskStatus, encode_update, make_update
from tests.backend.manager.conftest import StartManager
from tests.conftest import free_port
from tests.go_peers import GO_WORKERS, go_manager, go_worker
from tests.waiting import eventually_sync

WITHIN = 30.0


def _task(base: str, task_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{base}/tasks/{task_id}")
    return reply.json() if reply.status_code == 200 else {}


def _all_completed(base: str, ids: list[str]) -> bool:
    return all(_task(base, i).get("status") == "completed" for i in ids)


def test_tasks_we_submit_and_a_go_worker_runs_complete(
    redis_url: str, start_manager: StartManager
) -> None:
    base = start_manager()
    with go_worker(redis_url, pauses=(0.5, 0.5)) as worker:
        ids = httpx.post(f"{base}/submit", json={"count": 5}).json()["ids"]

        def running_at_65() -> bool:  # Go sends no progress: the original page's 65 %
            return any(
                _task(base, i).get("status") == "processing" and _task(base, i)["progress"] == 65
                for i in ids
            )

        eventually_sync(running_at_65, within=WITHIN)
        eventually_sync(lambda: _all_completed(base, ids), within=WITHIN)
    assert sorted(worker.completed) == sorted(ids)
    for task_id in ids:
        state = _task(base, task_id)
        assert state["progress"] == 100 and state["attempt"] == 1
        assert state["worker"] in GO_WORKERS
        assert [row["status"] for row in state["history"]] == ["pending", "processing", "completed"]
    stats = httpx.get(f"{base}/stats").json()
    assert stats["tasks"]["completed"] == 5 and stats["tasks"]["pending"] == 0
    assert stats["totals"]["completed"] == 5
    assert stats["last_minute"]["latency"]["max"] is not None
    page = httpx.get(f"{base}/tasks", params={"status": "completed"}).json()
    assert page["total"] == 5 and len(page["tasks"]) == 5


def test_go_manager_tasks_are_recorded_for_late_joiners(
    redis_url: str, start_manager: StartManager
) -> None:
    base = start_manager()
    with go_worker(redis_url) as worker, go_manager(redis_url) as manager:
        ids = [manager.submit() for _ in range(4)]

        def busy() -> bool:
            listed = httpx.get(f"{base}/workers").json()["workers"]
            go = [w for w in listed if w["kind"] == "go"]
            return bool(go) and all(not w["heartbeat"] and w["online"] for w in go)

        eventually_sync(busy, within=WITHIN)
        assert httpx.get(f"{base}/stats").json()["queue"]["consumers"] >= 1
        eventually_sync(lambda: _all_completed(base, ids), within=WITHIN)
    assert sorted(worker.completed) == sorted(ids)
    stats = httpx.get(f"{base}/stats").json()
    page = httpx.get(f"{base}/tasks").json()
    assert page["total"] == len(page["tasks"]) == 4 == stats["retained"]
    assert stats["totals"]["submitted"] == 4 and stats["totals"]["completed"] == 4
    state = _task(base, ids[0])
    assert state["progress"] == 100 and state["finished"] >= state["created"]

    late = start_manager()  # a manager started after it all happened
    page = httpx.get(f"{late}/tasks", params={"status": "completed"}).json()
    assert sorted(t["id"] for t in page["tasks"]) == sorted(ids) and page["total"] == 4
    assert {w["name"] for w in httpx.get(f"{late}/workers").json()["workers"]} <= set(GO_WORKERS)
    assert asyncio.run(_late_dashboard_viewer(redis_url)) == dict.fromkeys(ids, "completed")


async def _late_dashboard_viewer(redis_url: str) -> dict[str, str]:
    """What a page that connects to a dashboard started now is told, by task."""
    port = free_port()
    stop = asyncio.Event()
    settings = load_settings(redis_url=redis_url, port=port)
    serving = asyncio.create_task(serve_dashboard(settings, redis_url, stop))
    seen: dict[str, str] = {}
    try:
        async with asyncio.timeout(WITHIN):
            while True:
                with contextlib.suppress(OSError):
                    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
                        while len(seen) < 4:
                            message = json.loads(await ws.recv())
                            seen[message["id"]] = message["status"]
                        return seen
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await serving


def test_an_update_for_an_unknown_task_is_counted_and_listed_alike(
    sync_redis: Any, manager: str
) -> None:
    update = make_update("by-hand", TaskStatus.PROCESSING, worker="w9", attempt=1, seq=1)
    sync_redis.publish(keys.UPDATES_CHANNEL, encode_update(update))

    def agree() -> bool:
        counted = httpx.get(f"{manager}/stats").json()["tasks"]["processing"]
        page = httpx.get(f"{manager}/tasks", params={"status": "processing"}).json()
        listed = [t["id"] for t in page["tasks"]]
        return counted == page["total"] == len(listed) == 1 and listed == ["by-hand"]

    eventually_sync(agree, within=WITHIN)
    assert _task(manager, "by-hand")["status"] == "processing"
