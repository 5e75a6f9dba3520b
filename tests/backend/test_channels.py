"""Confirmed subscriptions against the real server: bursts, lost connections, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis._parsers import _AsyncRESP2Parser
from redis.exceptions import ConnectionError as RedisConnectionError

from backend import connection, keys
from backend.broker import EmbeddedBroker
from backend.store import Subscription, subscribe
from backend.store.link_subscription import LinkSubscription
from tests.waiting import eventually

BURST = 20_000


@pytest.fixture
async def listener(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A listener client configured as the parts configure theirs (retries, checks)."""
    client = connection.client(redis_url, timeout=None)
    yield client
    await client.aclose()


@pytest.fixture
async def pure_listener(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A listener whose replies redis-py parses in Python (no hiredis)."""
    client = aioredis.from_url(redis_url, parser_class=_AsyncRESP2Parser)
    yield client
    await client.aclose()


async def publish_burst(aredis: aioredis.Redis, first: int, count: int) -> list[bytes]:
    """``count`` numbered updates published in one pipeline; their payloads."""
    payloads = [f'{{"n": {n}, "pad": "{"x" * 150}"}}'.encode() for n in range(first, first + count)]
    async with aredis.pipeline(transaction=False) as pipe:
        for payload in payloads:
            pipe.publish(keys.UPDATES_CHANNEL, payload)
        await pipe.execute()
    return payloads


async def take(subscription: Subscription, count: int) -> list[bytes | None]:
    """The next ``count`` payloads (and ``None`` marks) :meth:`Subscription.listen` yields."""
    got: list[bytes | None] = []
    left = count
    async with asyncio.timeout(60):
        async for data in subscription.listen():
            got.append(data)
            left -= data is not None
            if not left:
                return got
    raise AssertionError(f"the stream ended after {len(got)}")


async def test_a_pipelined_burst_arrives_complete_and_in_order(
    listener: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    async with await subscribe(listener, keys.UPDATES_CHANNEL) as subscription:
        sent = await publish_burst(aredis, 0, BURST)
        assert await take(subscription, BURST) == sent
        more = await publish_burst(aredis, BURST, 100)  # the next read resumes cleanly
        assert await take(subscription, 100) == more


async def test_without_hiredis_a_burst_arrives_complete_and_in_order(
    pure_listener: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    async with await subscribe(pure_listener, keys.UPDATES_CHANNEL) as subscription:
        sent = await publish_burst(aredis, 0, 2000)
        assert await take(subscription, 2000) == sent


async def test_batches_hold_the_same_payloads_many_at_a_time(
    listener: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    async with await subscribe(listener, keys.UPDATES_CHANNEL) as subscription:
        sent = await publish_burst(aredis, 0, BURST)
        batches: list[list[bytes]] = []
        async with asyncio.timeout(60):
            async for batch in subscription.batches():
                assert batch, "a batch is never empty nor a resubscribe here"
                batches.append(batch)
                if sum(map(len, batches)) >= BURST:
                    break
    assert [data for batch in batches for data in batch] == sent
    assert len(batches) < BURST / 10, "read one by one, not as received"


async def test_a_lost_connection_yields_none_then_the_stream_resumes(
    listener: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    async with await subscribe(listener, keys.UPDATES_CHANNEL) as subscription:
        before = await publish_burst(aredis, 0, 1000)
        assert await take(subscription, 1000) == before
        # the server drops the subscriber mid-stream; redis-py reconnects by itself
        reading = asyncio.ensure_future(take(subscription, 1))
        await aredis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")

        async def resubscribed() -> bool:
            return bool((await aredis.pubsub_numsub(keys.UPDATES_CHANNEL))[0][1])

        await eventually(resubscribed, within=20)
        [after] = await publish_burst(aredis, 1000, 1)
        assert await asyncio.wait_for(reading, 30) == [None, after]


async def test_a_broker_restart_mid_stream_raises_then_a_new_subscription_reads(
    listener: aioredis.Redis, aredis: aioredis.Redis, broker: EmbeddedBroker
) -> None:
    async with await subscribe(listener, keys.UPDATES_CHANNEL) as subscription:
        sent = await publish_burst(aredis, 0, 1000)
        assert await take(subscription, 1000) == sent
        broker.stop()
        try:
            with pytest.raises(RedisConnectionError):  # redis-py's retries give up
                await take(subscription, 1)
        finally:
            broker.start()
    async with (
        aioredis.from_url(broker.url) as publisher,  # the old client's link is gone
        await subscribe(listener, keys.UPDATES_CHANNEL) as subscription,
    ):
        again = await publish_burst(publisher, 0, 100)
        assert await take(subscription, 100) == again


async def test_a_servers_subscription_rides_a_raw_link_and_get_waits_as_asked(
    listener: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    async with await subscribe(listener, keys.UPDATES_CHANNEL) as subscription:
        assert isinstance(subscription, LinkSubscription)
        assert await subscription.get(0) is None  # nothing yet: no wait
        assert await subscription.get(0.05) is None
        [sent] = await publish_burst(aredis, 0, 1)
        assert await subscription.get(5) == sent


async def test_a_quiet_subscription_is_checked_and_goes_on(
    redis_url: str, aredis: aioredis.Redis
) -> None:
    async with (
        aioredis.from_url(redis_url, health_check_interval=0.05) as quick_checks,
        await subscribe(quick_checks, keys.UPDATES_CHANNEL) as subscription,
    ):
        reading = asyncio.ensure_future(take(subscription, 1))

        async def pinged() -> bool:
            stats = await aredis.info("commandstats")
            return int(stats.get("cmdstat_ping", {}).get("calls", 0)) >= 3

        await aredis.config_resetstat()
        await eventually(pinged, within=10)
        [after] = await publish_burst(aredis, 0, 1)
        assert await asyncio.wait_for(reading, 10) == [after]  # no resubscribe in between
