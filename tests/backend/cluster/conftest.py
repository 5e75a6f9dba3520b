"""A real local Valkey Cluster (3 primaries) for the cluster-mode tests, started once per
session from the embedded server's binary (:class:`backend.broker_cluster.EmbeddedCluster`).

``redis_url`` is overridden here: every fixture built on it (``spawn``, ``aredis``,
``store``) joins the cluster, emptied before each test.
"""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from redis.cluster import RedisCluster

from backend import connection
from backend.broker_cluster import EmbeddedCluster
from backend.store import TaskStore


def free_run(nodes: int) -> int:
    """A first port with ``nodes`` free ports from it and their cluster-bus ports (+10000)."""
    for _ in range(100):
        first = random.randrange(20_000, 30_000)
        wanted = [first + i for i in range(nodes)] + [first + 10_000 + i for i in range(nodes)]
        if all(_bindable(port) for port in wanted):
            return first
    raise AssertionError("no run of free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """The session's 3-primary cluster."""
    local = EmbeddedCluster(tmp_path_factory.mktemp("cluster"), 3, port=free_run(3))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def redis_url(cluster: EmbeddedCluster) -> str:
    """The URL of one node of the session's cluster, every primary emptied for this test."""
    with RedisCluster.from_url(cluster.url) as client:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    return cluster.url


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connection.client(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(aredis: aioredis.Redis) -> TaskStore:
    task_store = TaskStore(aredis)
    await task_store.ensure_group()
    return task_store


def keys_by_node(url: str) -> dict[int, list[str]]:
    """Every key in the cluster, by the port of the primary holding it."""
    found: dict[int, list[str]] = {}
    with RedisCluster.from_url(url) as client:
        for node in client.get_primaries():
            keys = client.get_redis_connection(node).keys("*")
            found[node.port] = sorted(key.decode() for key in keys)
    return found
