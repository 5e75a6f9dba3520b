"""The manager holds no task view of its own: ``/stats`` and ``/tasks`` read the
indexes in Redis on each request, so tasks written before it started are counted and
found at once, and a state changed with no update published shows on the next call."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from backend import connection
from backend.protocol import Task, TaskStatus, make_update
from backend.state import TaskState, encode_state
from backend.store import TaskStore
from tests.backend.manager.conftest import StartManager
from tests.backend.manager.test_tasks import finish


async def _written(redis_url: str) -> list[TaskState]:
    """Twelve tasks: 8 finished (2 failed) by w1 and w2, 4 pending; a third named noop."""
    redis = connection.client(redis_url)
    try:
        store = TaskStore(redis)
        now = time.time()
        tasks = [
            Task(name="resize" if i % 3 else "noop", created_at=now - 100 + i)  # type: ignore[arg-type]
            for i in range(12)
        ]
        states = await store.submit(tasks)
        for i, state in enumerate(states[:8]):
            outcome = TaskStatus.FAILED if i % 4 == 0 else TaskStatus.COMPLETED
            await finish(store, state, outcome, "w1" if i % 2 else "w2")
        return states
    finally:
        await redis.aclose()


async def _cancelled_quietly(redis_url: str, state: TaskState) -> None:
    """Store ``state`` cancelled, publishing nothing."""
    redis = connection.client(redis_url)
    try:
        cancel = make_update(
            state.id, TaskStatus.CANCELLED, worker="", attempt=state.attempt, seq=state.seq + 1
        )
        assert state.apply(cancel)
        await TaskStore(redis).write([], {state.id: encode_state(state)}, {})
    finally:
        await redis.aclose()


def _ids(base: str, **params: Any) -> tuple[int, list[str]]:
    body = httpx.get(base + "/tasks", params=params).json()
    return body["total"], [task["id"] for task in body["tasks"]]


def test_tasks_written_before_it_started_are_counted_and_filtered(
    redis_url: str, start_manager: StartManager
) -> None:
    states = asyncio.run(_written(redis_url))
    ids = [state.id for state in states]

    base = start_manager()  # no update of those tasks is published from now on
    stats = httpx.get(base + "/stats").json()
    assert stats["complete"] and stats["retained"] == 12
    assert {k: v for k, v in stats["tasks"].items() if v} == {
        "completed": 6,
        "failed": 2,
        "pending": 4,
    }
    assert _ids(base, status="failed") == (2, [ids[4], ids[0]])
    assert _ids(base, name="noop") == (4, [ids[9], ids[6], ids[3], ids[0]])
    assert _ids(base, worker="w1") == (4, [ids[7], ids[5], ids[3], ids[1]])
    assert _ids(base, status="completed", worker="w2", name="resize") == (1, [ids[2]])
    assert _ids(base, status="pending", limit=2, offset=1) == (4, [ids[10], ids[9]])

    # changed behind the manager's back: the next request shows it (nothing cached)
    asyncio.run(_cancelled_quietly(redis_url, states[11]))
    stats = httpx.get(base + "/stats").json()
    assert (stats["tasks"]["pending"], stats["tasks"]["cancelled"]) == (3, 1)
    assert _ids(base, status="cancelled") == (1, [ids[11]])
