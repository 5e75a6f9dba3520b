"""A primary that has a replica dies mid-run (kill -9): the replica takes over, and
every task submitted before still finishes, run by a worker that follows the cluster
by itself (at-least-once: what the dead primary had not passed on runs again). Before
that (the failover leaves a primary without a replica), a submit waits for the replica
of the primary that holds the queue (``DISTRITASK_SUBMIT_REPLICAS``)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.cluster import RedisCluster as SyncCluster

from backend import connection
from backend.broker_cluster import EmbeddedCluster, free_run
from backend.client import Client
from backend.config import load_settings
from backend.errors import NotReplicated
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.conftest import Spawn
from tests.waiting import eventually, eventually_sync

TASKS = 300


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """3 primaries with a replica each."""
    local = EmbeddedCluster(tmp_path_factory.mktemp("replicated"), 3, 1, port=free_run(6))
    local.start()
    eventually_sync(lambda: _replicas_online(local), within=30, what="every replica in sync")
    yield local
    local.stop()


def _replicas_online(cluster: EmbeddedCluster) -> bool:
    with SyncCluster.from_url(cluster.url) as client:
        for node in client.get_primaries():
            info = client.get_redis_connection(node).info("replication")
            if int(info.get("connected_slaves", 0)) < 1 or "online" not in str(info["slave0"]):
                return False
    return True


@pytest.fixture
def redis_url(replicated: EmbeddedCluster) -> str:
    return replicated.url


async def test_a_submit_waits_for_the_replica_of_the_primary_holding_the_queue(
    redis_url: str,
) -> None:
    replicated_submits = load_settings(submit_replicas=1, submit_replicas_timeout=10)
    async with Client(redis_url, settings=replicated_submits) as client:
        await client.submit("noop", task_id="one")  # a batch: script and WAIT together
        ids = await client.submit_many([("noop",)] * 2500)  # streamed batches, one WAIT
        assert len(ids) == 2500
    wanting = load_settings(submit_replicas=2, submit_replicas_timeout=0.2)
    async with Client(redis_url, settings=wanting) as client:  # each primary has one
        with pytest.raises(NotReplicated, match="only 1 of 2 replica"):
            await client.submit("noop")
        with pytest.raises(NotReplicated):
            await client.submit_many([("noop",)] * 2500)


@pytest.mark.slow
async def test_every_task_finishes_when_the_primary_holding_them_dies(
    redis_url: str, replicated: EmbeddedCluster, spawn: Spawn
) -> None:
    spawn("worker", "--concurrency", "4")
    # DISTRITASK_SUBMIT_REPLICAS=1: the submit returns once the replica has the tasks (the
    # promise for writes acknowledged just before a failover: see README, "Scaling out").
    replicated_submits = load_settings(submit_replicas=1, submit_replicas_timeout=10)
    async with Client(redis_url, settings=replicated_submits) as client:
        ids = await client.submit_many([("sleep", 0.08)] * TASKS)
        store = await client.store()
        primary = await _primary_of(store)
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
