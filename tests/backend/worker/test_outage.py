"""The broker restarting mid-run: the worker says so once, carries on, loses nothing."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from backend.broker import EmbeddedBroker
from backend.store import TaskStore
from tests.backend.worker.conftest import (
    StartWorker,
    pending_entries,
    states_of,
    submit,
    wait_exit,
    wait_online,
    wait_states,
)
from tests.waiting import eventually


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A server of this test's own, which it may stop and start again."""
    embedded = EmbeddedBroker(tmp_path / "own-broker")
    embedded.start()
    yield embedded
    embedded.stop()


async def test_broker_restart_mid_run_loses_nothing(
    own_broker: EmbeddedBroker, start_worker: StartWorker, tmp_path: Path
) -> None:
    url, port = own_broker.url, own_broker.port
    redis = aioredis.from_url(url)
    store = TaskStore(redis)
    await store.ensure_group()
    worker = start_worker("--concurrency", "4", env={"REDIS_URL": url})
    await wait_online(store, 1)
    ids = await submit(store, "sleep", 150, payload={"seconds": 0.02})

    async def some_done() -> bool:
        states = await states_of(store, ids)
        return sum(1 for s in states if s and s.status.terminal) >= 20

    await eventually(some_done, within=10)
    await redis.aclose()
    own_broker.stop()
    log_file = tmp_path / "worker-0.log"  # the spawn fixture's name for it

    async def noticed() -> bool:
        return "unreachable" in log_file.read_text()

    await eventually(noticed, within=15)  # the outage outlasts the client's own retries
    restarted = EmbeddedBroker(own_broker.data_dir, port)
    restarted.start()
    try:
        redis = aioredis.from_url(restarted.url)
        store = TaskStore(redis)
        states = await wait_states(store, ids, within=30)
        assert all(s.attempt == 1 for s in states), "no acknowledged task was run again"
        assert await pending_entries(store) == 0
        worker.send_signal(signal.SIGTERM)
        assert wait_exit(worker, within=10) == 0
        await redis.aclose()
    finally:
        restarted.stop()
    log = log_file.read_text()
    assert log.count("unreachable") == 1, log
    assert "reachable again" in log
