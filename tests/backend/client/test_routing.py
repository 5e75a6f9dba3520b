"""The client's queue, delay and schedule keywords reach the queues, the schedule and the
scheduler (issue 12: one client for every part of the task model)."""

from __future__ import annotations

import time

from backend.client import BlockingClient, Client
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.client.conftest import StartWorker, wait_online
from tests.waiting import eventually_sync


async def test_queue_and_delay_keywords_route_the_task(
    client: Client, store: TaskStore, start_worker: StartWorker
) -> None:
    start_worker("--queues", "high,default")
    await wait_online(store)
    high = await client.submit("echo", "h", queue="high")
    state = await client.get(high)
    assert state is not None and state.queue == "high"
    assert await client.result(high, timeout=20) == "h"

    submitted = time.time()
    later = await client.submit("echo", "later", delay=1.0)
    state = await client.get(later)
    assert state is not None and state.scheduled and state.due is not None
    assert state.due >= submitted + 1.0
    assert await client.result(later, timeout=20) == "later"
    done = await client.get(later)
    assert done is not None and done.started is not None and done.started >= state.due

    # the fast path and the routed path keep the caller's order
    ids = await client.submit_many(
        [("echo", 1), {"name": "echo", "payload": 2, "queue": "high"}, ("echo", 3)]
    )
    assert [await client.result(i, timeout=20) for i in ids] == [1, 2, 3]


def test_schedules_through_the_blocking_client(
    redis_url: str, sync_redis: object, start_worker: StartWorker
) -> None:
    start_worker()
    with BlockingClient(redis_url) as client:
        schedule_id = client.schedule("echo", every=1, payload="tick")
        assert [s.id for s in client.schedules()] == [schedule_id]

        def ticked() -> bool:
            tasks = client.list_tasks(name="echo", status=TaskStatus.COMPLETED.value)
            return len(tasks) >= 2

        eventually_sync(ticked, within=20)
        assert client.unschedule(schedule_id) is True
        assert client.schedules() == []
