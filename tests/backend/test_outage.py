"""The one loop helper: an outage is logged once and ridden out; a bug propagates."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis
import uvloop
from redis.exceptions import ResponseError

from backend.connection import client, is_broker_down
from backend.outage import Outage, keep_running


async def test_an_unreachable_broker_is_waited_out_and_logged_once(
    aredis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    nobody = client("redis://127.0.0.1:1", timeout=1.0)  # nothing listens on port 1
    outage = Outage("here", logging.getLogger("test.outage"))
    rounds = 0

    async def body() -> float | None:
        nonlocal rounds
        rounds += 1
        if rounds <= 3:
            await nobody.ping()
        await aredis.ping()
        raise asyncio.CancelledError  # done

    with pytest.raises(asyncio.CancelledError):
        await keep_running(body, outage, name="test loop")
    await nobody.aclose()
    said = [r.getMessage() for r in caplog.records if r.name == "test.outage"]
    assert rounds == 4
    assert sum("unreachable (connection refused:" in m for m in said) == 1, said
    assert sum("reachable again" in m for m in said) == 0, "it never came back in a round"


async def test_a_wrong_password_is_logged_as_such(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The log says why, in the panel header's words, not only "unreachable"."""
    wrong_url = redis_url.replace("://:", "://:wrong", 1)  # TCP or the Unix socket
    assert wrong_url != redis_url
    wrong = client(wrong_url, timeout=1.0)
    outage = Outage("here", logging.getLogger("test.outage"))
    try:
        with pytest.raises(Exception) as raised:
            await wrong.ping()
        await outage.failed(raised.value)
    finally:
        await wrong.aclose()
    said = [r.getMessage() for r in caplog.records if r.name == "test.outage"]
    assert any("unreachable (authentication failed:" in m for m in said), said


async def test_an_error_reply_is_a_bug_it_propagates_and_is_reported(
    aredis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage("here", logging.getLogger("test.outage"))
    rounds = 0

    async def body() -> float:
        nonlocal rounds
        rounds += 1
        await aredis.execute_command("NO-SUCH-COMMAND")
        return 0

    with pytest.raises(ResponseError):
        async with asyncio.timeout(10):
            await keep_running(body, outage, name="test loop")
    assert rounds == 1, "a bug is never retried"
    [record] = [r for r in caplog.records if r.name == "test.outage"]
    assert record.levelno == logging.ERROR and "test loop" in record.getMessage()
    assert record.exc_info is not None


async def test_what_counts_as_broker_down(aredis: aioredis.Redis) -> None:
    with pytest.raises(ResponseError) as bug:
        await aredis.execute_command("NO-SUCH-COMMAND")
    assert not is_broker_down(bug.value)
    nobody = client("redis://127.0.0.1:1", timeout=1.0)
    with pytest.raises(Exception) as away:
        await nobody.ping()
    await nobody.aclose()
    assert is_broker_down(away.value)
    assert is_broker_down(ResponseError("BUSY Redis is busy running a script."))
    assert not is_broker_down(ResponseError("BUSYGROUP Consumer Group name already exists"))


def test_a_connection_closed_under_a_command_counts_as_the_broker_away() -> None:
    # How redis-py's cluster client fails a command whose connection another command
    # dropped during a failover: an AttributeError inside its connection module.
    redis_code: dict[str, Any] = {"__name__": "redis.asyncio.connection"}
    exec("def send(writer):\n    writer.writelines([b'PING'])\n", redis_code)
    with pytest.raises(AttributeError) as raced:
        redis_code["send"](None)
    assert is_broker_down(raced.value)
    ours: Any = None
    with pytest.raises(AttributeError) as bug:
        ours.writelines([b"PING"])  # the same mistake in our own code is a bug
    assert not is_broker_down(bug.value)


def test_a_write_to_a_connection_closed_under_it_on_uvloop_counts_as_the_broker_away(
    redis_url: str,
) -> None:
    # The same race on uvloop: redis-py's connection code writes to a transport another
    # command closed, and uvloop raises RuntimeError ("the handler is closed").
    async def write_after_close() -> BaseException:
        redis = client(redis_url)
        try:
            link = await redis.connection_pool.get_connection()
            link._writer.close()
            await link._writer.wait_closed()
            with pytest.raises(RuntimeError) as raced:
                await link.send_packed_command(link.pack_command("PING"), check_health=False)
            return raced.value
        finally:
            await redis.aclose()

    assert is_broker_down(uvloop.run(write_after_close()))
    with pytest.raises(RuntimeError) as bug:
        raise RuntimeError("the handler is closed")  # the same words from our own code
    assert not is_broker_down(bug.value)
