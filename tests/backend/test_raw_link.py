"""Raw links (:mod:`backend.raw_link`): pipelined calls each get their own reply, error
replies raise what redis-py raises, and a link that ends (killed, overdue, the client
closed) fails its waiting calls as a lost connection and is replaced. Against the real
server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend import connection, raw_link
from backend.raw_link import Link
from backend.store import calls
from backend.store.framing import command


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = connection.client(redis_url)
    yield redis
    await redis.aclose()


async def call(link: Link, *words: Any, within: float | None = None) -> Any:
    [future] = link.send(command(list(words)))
    return await (link.reply(future) if within is None else link.reply(future, within))


async def shared(client: aioredis.Redis) -> Link:
    link = await raw_link.shared(client)
    assert link is not None
    return link


async def test_calls_from_many_coroutines_share_a_link_and_each_gets_its_own_reply(
    client: aioredis.Redis,
) -> None:
    async def echo(n: int) -> bytes:
        reply: bytes = await call(await shared(client), "ECHO", n)
        return reply

    replies = await asyncio.gather(*(echo(n) for n in range(500)))
    assert replies == [str(n).encode() for n in range(500)]
    assert await shared(client) is await shared(client)


async def test_an_error_reply_raises_as_redis_py_does_and_the_link_goes_on(
    client: aioredis.Redis,
) -> None:
    link = await shared(client)
    with pytest.raises(NoScriptError):
        await call(link, "EVALSHA", "0" * 40, 0)
    with pytest.raises(ResponseError, match="unknown command"):
        await call(link, "NOSUCHCOMMAND")
    assert await call(link, "PING") == b"PONG"
    assert link.broken is None


async def test_a_killed_link_fails_its_waiting_calls_and_the_next_call_gets_a_new_one(
    client: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    link = await shared(client)
    killed = await call(link, "CLIENT", "ID")
    [waiting] = link.send(command(["BLPOP", "raw-link:nothing", 5]))
    await aredis.client_kill_filter(_id=killed)
    with pytest.raises(RedisConnectionError) as lost:
        await link.reply(waiting, 5)
    assert connection.is_broker_down(lost.value)
    again = await shared(client)
    assert again is not link
    assert await call(again, "CLIENT", "ID") != killed


async def test_an_overdue_reply_ends_the_link_as_a_timeout(client: aioredis.Redis) -> None:
    link = await shared(client)
    with pytest.raises(RedisTimeoutError) as overdue:
        await call(link, "BLPOP", "raw-link:nothing", 5, within=0.2)
    assert connection.is_broker_down(overdue.value)
    assert link.broken is not None
    with pytest.raises(RedisConnectionError):
        link.send(command(["PING"]))
    assert await call(await shared(client), "PING") == b"PONG"


async def test_a_reply_no_call_waits_for_any_more_is_dropped(
    client: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    link = await shared(client)
    [given_up] = link.send(command(["BLPOP", "raw-link:later", 5]))
    given_up.cancel()  # as a call cancelled while it waits leaves it
    [after] = link.send(command(["PING"]))  # queued behind the blocked BLPOP
    await aredis.rpush("raw-link:later", "x")
    assert await link.reply(after, 5) == b"PONG"  # not the BLPOP's reply
    assert link.broken is None


async def test_closing_the_client_closes_its_links(redis_url: str) -> None:
    redis = connection.client(redis_url)
    link = await shared(redis)
    async with raw_link.taken(redis) as own:
        assert own is not None
    await asyncio.wait_for(redis.aclose(), 5)
    assert link.broken is not None and own.broken is not None


async def test_a_taken_link_is_lent_again_unless_its_caller_failed(
    client: aioredis.Redis,
) -> None:
    async with raw_link.taken(client) as first:
        assert first is not None
        assert first is not await shared(client)  # a blocking read holds up no one
    async with raw_link.taken(client) as again:
        assert again is first
    with pytest.raises(RuntimeError):
        async with raw_link.taken(client) as failed:
            assert failed is first
            raise RuntimeError("stopped with a reply unread")
    assert first.broken is not None
    async with raw_link.taken(client) as fresh:
        assert fresh is not None and fresh is not first
        assert await call(fresh, "PING") == b"PONG"


async def test_a_submit_waiting_for_replicas_holds_up_no_one_elses_call(
    client: aioredis.Redis,
) -> None:
    script = client.register_script("return ARGV[1]")
    # no replica answers here: this WAIT holds its connection for its whole 2 s
    waiting = asyncio.ensure_future(
        calls.call_then(client, script, ["k"], ["slow"], command(["WAIT", 1, 2000]), 5)
    )
    assert await asyncio.wait_for(calls.call(client, script, ["k"], ["quick"]), 1.5) == b"quick"
    assert not waiting.done()
    assert await waiting == (b"slow", 0)
