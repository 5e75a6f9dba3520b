"""Keeping held tasks: from a thread, so a handler holding the event loop keeps them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from backend import keys
from backend.protocol import TaskStatus
from backend.store import TaskStore
from backend.worker.keeper import Keeper
from tests.backend.worker.conftest import (
    StartWorker,
    pending_entries,
    submit,
    wait_online,
    wait_status,
)
from tests.waiting import eventually


async def test_a_handler_holding_the_loop_keeps_its_task_and_is_named(
    store: TaskStore, start_worker: StartWorker, tmp_path: Path
) -> None:
    tasks = ("--tasks", "tests.backend.worker.sample_tasks", "--claim-idle", "0.6")
    start_worker(*tasks, "--name", "busy")
    await wait_online(store, 1)
    [task_id] = await submit(store, "cpu_bound", payload={"seconds": 4}, max_retries=0)

    async def taken() -> bool:
        return await pending_entries(store) == 1

    await eventually(taken, within=10)
    start_worker(*tasks, "--name", "idle")  # would steal it if its hold lapsed
    state = await wait_status(store, task_id, TaskStatus.COMPLETED, within=20)
    assert (state.worker, state.attempt) == ("busy", 1), "it ran once, where it started"
    log = (tmp_path / "worker-0.log").read_text()
    assert "event loop blocked" in log and f"cpu_bound {task_id}" in log, log[-2000:]


async def test_an_error_reply_while_keeping_stops_the_worker(
    store: TaskStore, aredis: aioredis.Redis, redis_url: str
) -> None:
    """A held task must never silently lose its hold: an error reply is reported."""
    await aredis.delete(keys.TASK_STREAM)
    await aredis.set(keys.TASK_STREAM, "not a stream")  # every XCLAIM now fails: WRONGTYPE
    failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
    keeper = Keeper(
        redis_url,
        "keeper",
        0.1,
        held=lambda: [b"1-1"],
        running=lambda: [],
        on_error=failed.set_result,
    )
    keeper.start()
    try:
        error = await asyncio.wait_for(failed, 10)
    finally:
        keeper.stop()
    assert "WRONGTYPE" in str(error)
