"""``redis+sentinel://`` URLs: parsed as documented, refused clearly when malformed, and
clients that reach the master through real sentinels with both passwords."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import exceptions as redis_errors
from redis.asyncio.sentinel import MasterNotFoundError, SentinelManagedSSLConnection
from redis.exceptions import ReadOnlyError, ResponseError

from backend import connection, keys
from backend.broker_url import describe, redis_url_problem
from backend.cli import main
from backend.client import Client
from backend.config import load_settings
from backend.errors import ConfigError, NotReplicated
from backend.sentinel import InvalidSentinelURL, parse
from backend.sentinel_clients import AsyncSentinelMaster
from tests.sentinel_fixtures import (
    MASTER_PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE,
    SentinelSetup,
    running_sentinels,
)
from tests.waiting import eventually


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSetup]:
    """A setup of this test's own (it fails the master over)."""
    with running_sentinels(tmp_path / "sentinel") as setup:
        yield setup


@pytest.fixture(scope="module")
def shared_sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSetup]:
    """One setup for the tests that only connect (starting one takes seconds)."""
    with running_sentinels(tmp_path_factory.mktemp("sentinel")) as setup:
        yield setup


def test_the_documented_url_forms() -> None:
    url = parse("redis+sentinel://h1:26380,h2/mymaster")
    assert url.sentinels == [("h1", 26380), ("h2", 26379)]
    assert (url.service, url.db, url.password, url.ssl) == ("mymaster", 0, None, False)

    url = parse(
        "rediss+sentinel://app:p%40ss@[::1]:5000,h2:5001/cache/3"
        "?sentinel_password=s3&sentinel_username=watcher&ssl_cert_reqs=none"
    )
    assert url.sentinels == [("::1", 5000), ("h2", 5001)]
    assert (url.username, url.password, url.db) == ("app", "p@ss", 3)
    assert (url.sentinel_username, url.sentinel_password) == ("watcher", "s3")
    assert url.ssl and url.sentinel_ssl
    assert url.master_kwargs()["ssl_cert_reqs"] == "none"
    assert url.sentinel_kwargs(5.0)["ssl"] is True

    url = parse("rediss+sentinel://:pw@h1/m?db=2&sentinel_ssl=no")
    assert (url.db, url.ssl, url.sentinel_ssl) == (2, True, False)
    assert "ssl" not in url.sentinel_kwargs(5.0)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+sentinel://h1:26379,h2:26379", "no service name"),
        ("redis+sentinel://h1:26379/", "no service name"),
        ("redis+sentinel://h1:port/mymaster", "the port must be a number"),
        ("redis+sentinel://h1:70000/mymaster", "the port must be a number"),
        ("redis+sentinel://h1,,h2/mymaster", "no sentinel address"),
        ("redis+sentinel:///mymaster", "no sentinel address"),
        ("redis+sentinel://h1/mymaster/x", "db must be a whole number"),
        ("redis+sentinel://h1/mymaster?sentinel_pasword=x", "unknown option 'sentinel_pasword'"),
        ("redis+sentinel://h1/mymaster?ssl_cert_reqs=none", "use rediss+sentinel://"),
    ],
)
def test_a_malformed_url_is_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidSentinelURL, match=re.escape(reason)):
        parse(url)
    with pytest.raises(ConfigError, match=re.escape(reason)) as refused:
        load_settings(redis_url=url)
    assert refused.value.setting == "--redis-url"
    with pytest.raises(ConfigError, match=re.escape(reason)):
        connection.client(url)  # the client API's path, without settings


def test_the_cli_says_what_is_wrong_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "redis+sentinel://:secret@h1:26379,h2:x/mymaster?sentinel_password=hidden"
    try:
        code = main(["submit", "--name", "noop", "--redis-url", bad])
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2
    said = capsys.readouterr().err
    assert "the port must be a number" in said and "Traceback" not in said
    assert "secret" not in said and "hidden" not in said, said


def test_addresses_shown_to_people_never_carry_a_password() -> None:
    url = "redis+sentinel://:pw@h1:1,h2:2/mymaster?sentinel_password=spw"
    assert describe(url) == "redis+sentinel://h1:1,h2:2/mymaster"
    assert describe("redis+sentinel://:pw@h1:bad/m?sentinel_password=spw") == (
        "redis+sentinel://h1:bad/m"
    )


def test_failover_errors_mean_the_broker_is_away() -> None:
    assert connection.is_broker_down(MasterNotFoundError("No master found for 'mymaster'"))
    assert connection.is_broker_down(ReadOnlyError("You can't write against a read only replica."))
    assert connection.is_broker_down(
        ResponseError("UNBLOCKED force unblock from blocking operation, instance state changed")
    )
    assert not connection.is_broker_down(ResponseError("WRONGTYPE Operation against a key"))


async def test_clients_reach_the_master_through_the_sentinels(
    shared_sentinels: SentinelSetup,
) -> None:
    sentinels = shared_sentinels
    url = sentinels.url
    async with Client(url) as client:
        task_id = await client.submit("noop")
        assert (await client.get(task_id)) is not None
    master = sentinels.master_port()
    assert master is not None
    with sentinels.node(master) as node:
        assert node.dbsize() > 0, "the task went to the master the sentinels name"
    blocking = connection.sync_client(url)
    try:
        assert blocking.ping()
    finally:
        blocking.close()


@pytest.mark.parametrize(
    "wrong",
    [
        f"sentinel_password=nope#{MASTER_PASSWORD}",  # the sentinels refuse us
        f"sentinel_password={SENTINEL_PASSWORD}#nope",  # the master refuses us
    ],
)
async def test_each_password_is_checked_where_it_belongs(
    shared_sentinels: SentinelSetup, wrong: str
) -> None:
    sentinels = shared_sentinels
    query, password = wrong.split("#")
    hosts = ",".join(f"127.0.0.1:{port}" for port in sentinels.sentinel_ports)
    redis = connection.client(f"redis+sentinel://:{password}@{hosts}/{SERVICE}?{query}")
    try:
        with pytest.raises(Exception) as refused:
            await redis.ping()
        assert connection.is_broker_down(refused.value)
        assert "auth" in str(refused.value).lower() or "password" in str(refused.value).lower()
    finally:
        await redis.aclose()


async def test_open_connections_follow_a_failover_that_leaves_the_old_master_up(
    sentinels: SentinelSetup,
) -> None:
    """After ``SENTINEL FAILOVER`` the old master stays a master until the sentinels
    demote it (up to 10 s): commands, a subscription and a blocking client's connection
    already open must move to the new master well before that (the clients ask the
    sentinels every second)."""
    redis = connection.client(sentinels.url)
    listener = connection.client(sentinels.url, timeout=None)
    blocking = connection.sync_client(sentinels.url)  # a thread's (the worker's keeper)
    subscription = listener.pubsub()
    try:
        await subscription.subscribe("probe")
        await redis.ping()
        assert await asyncio.to_thread(blocking.ping)
        old = await asyncio.to_thread(sentinels.fail_over)

        async def commands_moved() -> bool:
            return int((await redis.info("server"))["tcp_port"]) != old

        await eventually(commands_moved, within=5, interval=0.1, what="commands on the new master")
        sent = 0

        async def subscription_moved() -> bool:
            nonlocal sent
            sent += 1
            await redis.publish("probe", str(sent))  # on the new master
            with contextlib.suppress(redis_errors.ConnectionError):
                while message := await subscription.get_message(timeout=0.2):
                    if message["type"] == "message" and message["data"] == str(sent).encode():
                        return True
            return False

        await eventually(subscription_moved, within=5, interval=0.05, what="the subscription")

        def blocking_moved() -> bool:
            return int(blocking.info("server")["tcp_port"]) != old

        await eventually(
            lambda: asyncio.to_thread(blocking_moved), within=5, interval=0.1, what="blocking"
        )
    finally:
        blocking.close()
        await subscription.aclose()
        await listener.aclose()
        await redis.aclose()


def test_a_form_can_check_a_url_before_any_client_is_made() -> None:
    assert redis_url_problem("redis+sentinel://h1:26379,h2/mymaster") is None
    assert redis_url_problem("redis://localhost:6379/0") is None
    assert "no service name" in (redis_url_problem("redis+sentinel://h1:26379") or "")
    assert "must start with" in (redis_url_problem("http://h1") or "")


async def test_tls_is_spoken_where_the_url_asks(shared_sentinels: SentinelSetup) -> None:
    """``rediss+sentinel://`` speaks TLS to the sentinels (this plain one cannot answer
    the handshake) and to the master; with ``sentinel_ssl=no`` to the master only."""
    url = (
        f"rediss+sentinel://:{MASTER_PASSWORD}@127.0.0.1:{shared_sentinels.sentinel_ports[0]}"
        f"/{SERVICE}?sentinel_password={SENTINEL_PASSWORD}&ssl_cert_reqs=none"
    )
    redis = connection.client(url)
    try:
        assert isinstance(redis, AsyncSentinelMaster) and redis.sentinel is not None
        assert issubclass(redis.connection_pool.connection_class, SentinelManagedSSLConnection)
        with pytest.raises(MasterNotFoundError):
            await redis.sentinel.discover_master(SERVICE)  # no TLS answer from the sentinel
    finally:
        await redis.aclose()
    redis = connection.client(url + "&sentinel_ssl=no")
    try:
        assert isinstance(redis, AsyncSentinelMaster) and redis.sentinel is not None
        assert issubclass(redis.connection_pool.connection_class, SentinelManagedSSLConnection)
        assert await redis.sentinel.discover_master(SERVICE), "the sentinel answers in plain"
    finally:
        await redis.aclose()


async def test_a_submit_returns_once_the_replicas_asked_for_have_it(
    shared_sentinels: SentinelSetup,
) -> None:
    """DISTRITASK_SUBMIT_REPLICAS: a submit returns once that many replicas have its
    tasks; short of them in time it fails saying so, its tasks queued all the same."""
    url = shared_sentinels.url
    [replica] = [p for p in shared_sentinels.servers if p != shared_sentinels.master_port()]
    async with Client(url, settings=load_settings(submit_replicas=1)) as client:
        task_id = await client.submit("noop")
        with shared_sentinels.node(replica) as node:  # at once, not eventually
            assert node.hexists(keys.TASK_STATES, task_id)
    strict = load_settings(submit_replicas=2, submit_replicas_timeout=0.2)
    async with Client(url, settings=strict) as client:
        with pytest.raises(NotReplicated, match="only 1 of 2 replica"):
            await client.submit("noop", task_id="short-of-replicas")
        assert (await client.get("short-of-replicas")) is not None


def test_distritask_submit_says_when_replicas_fell_short(
    shared_sentinels: SentinelSetup, capsys: pytest.CaptureFixture[str]
) -> None:
    url = shared_sentinels.url
    flags = ["--redis-url", url, "--submit-replicas", "2", "--submit-replicas-timeout", "0.2"]
    assert main(["submit", "--name", "noop", *flags]) == 1
    assert "only 1 of 2 replica(s)" in capsys.readouterr().err
