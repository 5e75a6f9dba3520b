"""Status events in a cluster: our readers take them from the sharded channel of every
shard of the queue (SSUBSCRIBE on the node that owns each); the Go-compatible
``task_updates`` PUBLISH, which a cluster broadcasts to every node, is on by default
and can be turned off."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from backend import connection, keys
from backend.config import load_settings
from backend.protocol import Task, decode_update
from backend.store import TaskStore
from backend.store.sharded import ShardedStore

SHARD_CHANNEL = "distritask:{dt}:updates"


async def _other_node(redis_url: str) -> aioredis.Redis:
    """A plain client of a primary that does not own the status channel's slot."""
    cluster = connection.client(redis_url)
    assert isinstance(cluster, RedisCluster)
    await cluster.initialize()
    owner = cluster.get_node_from_key(SHARD_CHANNEL)
    other = next(node for node in cluster.get_primaries() if node.name != owner.name)
    password = cluster.get_default_node().connection_kwargs.get("password")
    await cluster.aclose()
    return aioredis.Redis(host=other.host, port=other.port, password=password)


async def test_our_readers_use_the_sharded_channel_and_go_readers_still_hear(
    redis_url: str, store: TaskStore
) -> None:
    assert isinstance(store, ShardedStore)
    shards = await store.shards()
    channels = {shard.keys.channel(keys.UPDATES_CHANNEL) for shard in shards}
    assert channels == {(f"distritask:{{{shard.shard}}}:updates", True) for shard in shards}
    assert all(
        "SPUBLISH" in s.scripts.WRITE and "'task_updates'" in s.scripts.WRITE for s in shards
    )
    node = await _other_node(redis_url)
    go_reader = node.pubsub()
    await go_reader.subscribe(keys.UPDATES_CHANNEL)
    async with await store.subscribe(keys.UPDATES_CHANNEL) as ours:
        [state] = await store.submit([Task(name="noop")])
        update = decode_update(await _next(ours))
        assert (update.id, update.status.value) == (state.id, "pending")
        heard = await go_reader.get_message(ignore_subscribe_messages=True, timeout=5)
        heard = heard or await go_reader.get_message(ignore_subscribe_messages=True, timeout=5)
        assert heard is not None and decode_update(heard["data"]).id == state.id
    await go_reader.aclose()
    await node.aclose()


async def test_the_classic_publish_can_be_turned_off(redis_url: str, aredis: RedisCluster) -> None:
    store = TaskStore.from_settings(aredis, load_settings(classic_updates=False))
    await store.ensure_group()
    assert isinstance(store, ShardedStore)
    assert all("'task_updates'" not in shard.scripts.SUBMIT for shard in await store.shards())
    node = await _other_node(redis_url)
    go_reader = node.pubsub()
    await go_reader.subscribe(keys.UPDATES_CHANNEL)
    await go_reader.get_message(timeout=5)  # the subscribe confirmation
    async with await store.subscribe(keys.UPDATES_CHANNEL) as ours:
        [state] = await store.submit([Task(name="noop")])
        assert decode_update(await _next(ours)).id == state.id
    assert await go_reader.get_message(ignore_subscribe_messages=True, timeout=1) is None
    await go_reader.aclose()
    await node.aclose()


async def _next(subscription: object) -> bytes:
    for _ in range(10):
        data = await subscription.get(1.0)  # type: ignore[attr-defined]
        if data is not None:
            return bytes(data)
    raise AssertionError("no status update within 10 s")
