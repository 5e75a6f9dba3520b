"""A primary that has a replica dies mid-run (kill -9): the replica takes over, and
every task submitted before still finishes, run by a worker that follows the cluster
by itself (at-least-once: what the dead primary had not passed on runs again)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest
from redis.asyncio.cluster import RedisCluster

from backend import connection
from backend.broker_cluster import EmbeddedCluster
from backend.client import Client
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.conftest import Spawn, free_run
from tests.waiting import eventually

TASKS = 300


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """3 primaries with a replica each."""
    local = EmbeddedCluster(tmp_path_factory.mktemp("replicated"), 3, 1, port=free_run(6))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def redis_url(replicated: EmbeddedCluster) -> str:
    return replicated.url


@pytest.mark.slow
async def test_every_task_finishes_when_the_primary_holding_them_dies(
    redis_url: str, replicated: EmbeddedCluster, spawn: Spawn
) -> None:
    spawn("worker", "--concurrency", "4")
    async with Client(redis_url) as client:
        ids = await client.submit_many([("sleep", 0.08)] * TASKS)
        store = await client.store()
        primary = await _primary_of(store)
        # WAIT: the submits reached the replica before the failover (the promise for
        # writes acknowledged just before one: see README, "Scaling out").
        assert await store.redis.execute_command("WAIT", 1, 5000, target_nodes=primary) == 1
        await eventually(lambda: _finished(store, ids, 30), within=60, what="some tasks done")
    victim = next(s for s in replicated.servers if s.port == primary.port)
    os.kill(victim._process.pid, signal.SIGKILL)
    url = next(
        f"redis://:{replicated.password}@127.0.0.1:{s.port}"
        for s in replicated.servers
        if s.port != primary.port
    )
    client = await eventually(lambda: _open(url), within=60, what="the cluster to fail over")
    async with client:  # any live node: the cluster client finds the rest
        store = await client.store()
        await eventually(
            lambda: _finished(store, ids, TASKS), within=90, interval=0.5, what="every task done"
        )
        states = await store.get_many(ids)
    assert {state.status for state in states} == {TaskStatus.COMPLETED}
    assert len(states) == TASKS


async def _open(url: str) -> Client | None:
    client = Client(url)
    try:
        await client.open()
    except connection.BROKER_DOWN:
        await client.aclose()
        await asyncio.sleep(0.5)
        return None
    return client


async def _primary_of(store: TaskStore) -> object:
    cluster = store.redis
    assert isinstance(cluster, RedisCluster)
    await cluster.initialize()
    return cluster.get_node_from_key(store.keys.TASK_STATES)


async def _finished(store: TaskStore, ids: list[str], at_least: int) -> bool:
    try:
        states = await store.get_many(ids)
    except connection.BROKER_DOWN:
        await asyncio.sleep(0.5)
        return False
    return sum(state.status is TaskStatus.COMPLETED for state in states) >= at_least
