"""Looking at tasks and the cluster: list, one task with its history, cancel, retry,
workers, stats, metrics. A worker's part is played by ``TaskStore.record``."""

from __future__ import annotations

import time

import httpx

from backend.protocol import Task, TaskStatus, WorkerInfo
from backend.state import TaskState
from backend.store import TaskStore
from tests.changes import advance
from tests.waiting import eventually


async def finish(store: TaskStore, state: TaskState, status: TaskStatus, worker: str) -> None:
    """Do what a worker does: processing, then ``status``."""
    changes = [
        advance(
            state,
            step,
            worker=worker,
            seq=seq,
            name=state.name,
            error="boom" if step is TaskStatus.FAILED else None,
        )
        for seq, step in enumerate((TaskStatus.PROCESSING, status), start=1)
    ]
    await store.record(changes)


async def test_list_filters_and_pages_newest_first(
    http: httpx.AsyncClient, store: TaskStore
) -> None:
    now = time.time()
    tasks = [
        Task(name="noop" if i % 2 else "sleep", created_at=now - 100 + i)  # type: ignore[arg-type]
        for i in range(7)
    ]
    states = await store.submit(tasks)
    await finish(store, states[1], TaskStatus.COMPLETED, "w1")
    await finish(store, states[3], TaskStatus.FAILED, "w2")

    def listed(**params: object) -> list[str]:
        body = httpx.get(str(http.base_url) + "/tasks", params=params).json()
        return [t["id"] for t in body["tasks"]]

    ids = [s.id for s in states]
    await eventually(lambda: listed(status="failed") == [ids[3]], what="the failure to show")
    assert listed() == ids[::-1]
    assert listed(limit=2, offset=1) == [ids[5], ids[4]]
    assert listed(name="noop") == [ids[5], ids[3], ids[1]]
    assert listed(worker="w1") == [ids[1]]
    assert listed(status="pending", name="sleep") == [ids[6], ids[4], ids[2], ids[0]]
    page = (await http.get("/tasks", params={"limit": 1})).json()
    assert page["total"] == 7 and "history" not in page["tasks"][0]
    assert (await http.get("/tasks", params={"status": "lost"})).status_code == 422
    assert (await http.get("/tasks", params={"limit": 0})).status_code == 422


async def test_one_task_has_its_history(http: httpx.AsyncClient, store: TaskStore) -> None:
    [state] = await store.submit([Task(name="noop")])
    await finish(store, state, TaskStatus.COMPLETED, "w1")
    body = (await http.get(f"/tasks/{state.id}")).json()
    assert body["status"] == "completed" and body["worker"] == "w1"
    assert [h["status"] for h in body["history"]] == ["pending", "processing", "completed"]
    missing = await http.get("/tasks/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


async def test_cancel_a_queued_task(http: httpx.AsyncClient, store: TaskStore) -> None:
    [state] = await store.submit([Task(name="noop")])
    response = await http.post(f"/tasks/{state.id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    assert await store.is_cancelled(state.id)
    again = await http.post(f"/tasks/{state.id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]


async def test_retry_a_failed_task_as_a_new_attempt(
    http: httpx.AsyncClient, store: TaskStore
) -> None:
    [state] = await store.submit([Task(name="fail")])
    early = await http.post(f"/tasks/{state.id}/retry")
    assert early.status_code == 409 and "only failed or cancelled" in early.json()["error"]
    await finish(store, state, TaskStatus.FAILED, "w1")
    response = await http.post(f"/tasks/{state.id}/retry")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["attempt"]) == ("pending", 2)
    assert (await store.queue_depth())["length"] == 2
    assert (await http.post("/tasks/nope/retry")).status_code == 404


async def test_workers_stats_and_metrics(http: httpx.AsyncClient, store: TaskStore) -> None:
    now = time.time()
    await store.heartbeat(WorkerInfo(name="w1", concurrency=2, seen=now), ttl=30)
    await store.heartbeat(WorkerInfo(name="w0", seen=now - 60), ttl=0.001)
    states = await store.submit([Task(name="noop") for _ in range(3)])
    await finish(store, states[0], TaskStatus.COMPLETED, "w1")
    await finish(store, states[1], TaskStatus.FAILED, "w1")

    workers = (await http.get("/workers")).json()["workers"]
    assert [(w["name"], w["online"]) for w in workers] == [("w1", True), ("w0", False)]

    def stats() -> dict:
        body = httpx.get(str(http.base_url) + "/stats").json()
        return body if body["last_minute"]["failed"] == 1 else {}

    body = await eventually(stats, what="the finished tasks in /stats")
    assert body["tasks"]["completed"] == 1 and body["tasks"]["pending"] == 1
    assert body["totals"]["submitted"] == 3
    assert body["queue"] == {"length": 3, "lag": 3, "pending": 0, "consumers": 0}
    assert body["workers"] == {"online": 1, "listed": 2}
    minute = body["last_minute"]
    assert minute["completed"] == 1 and minute["throughput"] > 0
    assert minute["latency"]["p50"] is not None

    text = (await http.get("/metrics")).text
    assert 'distritask_tasks{status="completed"} 1.0' in text
    assert 'distritask_task_events_total{event="submitted"} 3.0' in text
    assert 'distritask_queue{measure="lag"} 3.0' in text
    assert "distritask_workers_online 1.0" in text
    assert 'distritask_http_requests_total{method="GET",route="/workers",status="200"}' in text
