"""Any follower records what only the channel tells: the dashboard alone records a Go
deployment's tasks, so a viewer that joins later finds them."""

from __future__ import annotations

import asyncio
import contextlib

from backend.config import load_settings
from backend.dashboard import serve_dashboard
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.conftest import free_port
from tests.go_peers import go_manager, go_worker
from tests.waiting import eventually


async def test_the_dashboard_alone_records_a_go_deployment(
    redis_url: str, store: TaskStore
) -> None:
    port = free_port()
    stop = asyncio.Event()
    serving = asyncio.create_task(
        serve_dashboard(load_settings(redis_url=redis_url, port=port), redis_url, stop)
    )
    try:

        async def subscribed() -> bool:
            return bool((await store.redis.pubsub_numsub("task_updates"))[0][1])

        await eventually(subscribed, within=10)
        with go_worker(redis_url), go_manager(redis_url) as manager:
            ids = [manager.submit() for _ in range(3)]

            async def recorded() -> bool:
                states = await store.get_many(ids)
                return len(states) == 3 and all(s.status is TaskStatus.COMPLETED for s in states)

            await eventually(recorded, within=30)
        assert set(await store.newest_ids(10)) == set(ids)
        assert (await store.counters())["completed"] == 3
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await serving
