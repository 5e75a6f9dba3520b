"""The connections raw commands go out on (:func:`backend.links.dedicated`): the ones
given back are lent again, a kept one the server dropped is replaced, and callers that
overlap each get their own. Against the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection

from backend import connection, links
from backend.store.framing import command


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = connection.client(redis_url)
    yield redis
    await redis.aclose()


async def client_id(link: AbstractConnection) -> int:
    await link.send_packed_command(command(["CLIENT", "ID"]), check_health=False)
    return int(await link.read_response())


async def test_a_connection_given_back_is_lent_again(client: aioredis.Redis) -> None:
    async with links.dedicated(client, "k") as link:
        first = await client_id(link)
    async with links.dedicated(client, "k") as link:
        assert await client_id(link) == first


async def test_a_kept_connection_the_server_dropped_is_replaced(
    client: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    async with links.dedicated(client, "k") as link:
        dropped = await client_id(link)
    await aredis.client_kill_filter(_id=dropped)
    async with links.dedicated(client, "k") as link:  # reconnected, not failed
        assert await client_id(link) != dropped


async def test_callers_that_overlap_each_get_their_own(client: aioredis.Redis) -> None:
    async with links.dedicated(client, "k") as outer, links.dedicated(client, "k") as inner:
        ids = {await client_id(outer), await client_id(inner)}
    assert len(ids) == 2
    # both are kept for the next callers (a worker's read and its writes overlap)
    async with links.dedicated(client, "k") as one, links.dedicated(client, "k") as two:
        assert {await client_id(one), await client_id(two)} == ids


async def test_a_connection_left_with_a_reply_unread_is_not_lent_again(
    client: aioredis.Redis,
) -> None:
    with pytest.raises(RuntimeError):
        async with links.dedicated(client, "k") as link:
            broken = await client_id(link)
            await link.send_packed_command(command(["PING"]), check_health=False)
            raise RuntimeError("stopped before reading the reply")
    async with links.dedicated(client, "k") as link:
        assert await client_id(link) != broken  # a PONG left unread would answer here
