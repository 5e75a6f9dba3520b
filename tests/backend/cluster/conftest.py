"""A real local Valkey Cluster (3 primaries) for the cluster-mode tests, started once per
session from the embedded server's binary (:class:`backend.broker_cluster.EmbeddedCluster`).

``redis_url`` (emptied before each test) and ``aredis`` (a cluster client) are
overridden here, so every fixture built on them (``spawn``) joins the cluster
(``valkey_cluster``, tests/conftest.py); ``store`` is the store every part makes there
(``TaskStore.from_settings``: the queue sharded, one shard per primary by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.cluster import RedisCluster

from backend import connection
from backend.broker_cluster import EmbeddedCluster
from backend.config import load_settings
from backend.store import TaskStore
from tests.conftest import cluster_url


@pytest.fixture
def redis_url(valkey_cluster: EmbeddedCluster) -> str:
    """The URL of one node of the session's cluster, every primary emptied for this test."""
    return cluster_url(valkey_cluster)


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connection.client(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(aredis: aioredis.Redis) -> TaskStore:
    sharded = TaskStore.from_settings(aredis, load_settings())
    await sharded.ensure_group()
    return sharded


def keys_by_node(url: str) -> dict[int, list[str]]:
    """Every key in the cluster, by the port of the primary holding it."""
    found: dict[int, list[str]] = {}
    with RedisCluster.from_url(url) as client:
        for node in client.get_primaries():
            keys = client.get_redis_connection(node).keys("*")
            found[node.port] = sorted(key.decode() for key in keys)
    return found
