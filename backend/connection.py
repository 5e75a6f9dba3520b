"""Connecting to Redis: one client factory, one definition of "broker down", and
waiting for a broker with backoff.

Every part gets its client from :func:`client` (blocking code: :func:`sync_client`),
so timeouts, keep-alive and the retry policy for single commands are the same
everywhere; a ``redis+sentinel://`` URL gives a client that follows the master
through failovers (:mod:`backend.sentinel`). :func:`is_broker_down` is
the one test of whether an error means the broker is away (retry) or a bug (report);
:mod:`backend.outage` builds the loop every long-running part uses on it.
:func:`connect` waits for the broker to answer, logging one clear line while it does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    ClusterDownError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as SyncRetry

from backend import sentinel
from backend.errors import ConfigError

log = logging.getLogger(__name__)

BROKER_DOWN = (
    RedisConnectionError,  # includes BusyLoadingError: the server is loading its data
    RedisTimeoutError,
    ClusterDownError,  # includes MasterDownError: a replica whose master is away
    TryAgainError,
    ReadOnlyError,  # a master demoted to replica by a failover (sentinel clients move on)
    ConnectionError,  # includes MasterNotFoundError: no sentinel names a master (yet)
    OSError,
)
"""What a lost, unreachable, loading or failing-over broker raises."""
_TRANSIENT_REPLIES = ("BUSY ", "UNBLOCKED ", "NOREPLICAS ")
"""Error replies that mean "not now": a server running a long script (not
``BUSYGROUP``), a blocked read ended by the server turning replica in a failover, a
master short of the replicas ``min-replicas-to-write`` asks for."""


def is_broker_down(exc: BaseException) -> bool:
    """Whether ``exc`` means the broker is away for now (wait and retry), not a bug.

    Every other error reply (``ResponseError``) is a bug to report, never retried.
    """
    if isinstance(exc, BROKER_DOWN):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(_TRANSIENT_REPLIES)


def describe(url: str) -> str:
    """The broker's address for people: scheme, host and port, never the password."""
    if sentinel.is_sentinel_url(url):
        return sentinel.describe(url)
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 6379}"


def client(url: str, *, timeout: float | None = 5.0) -> aioredis.Redis:
    """An asyncio client for ``url``; the socket timeout is off for blocking reads.

    Raises ConfigError for a malformed ``redis+sentinel://`` URL.
    """
    settings: dict[str, Any] = {
        "socket_connect_timeout": 5.0,
        "socket_timeout": timeout,
        "socket_keepalive": True,
        "health_check_interval": 15,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    if sentinel.is_sentinel_url(url):
        return sentinel.async_master(_sentinel_url(url), **settings)
    return aioredis.from_url(url, **settings)


def sync_client(url: str, *, timeout: float | None = 5.0) -> redis.Redis:
    """A blocking client for ``url`` (threads, scripts), set up as :func:`client`'s."""
    settings: dict[str, Any] = {
        "socket_connect_timeout": 5.0,
        "socket_timeout": timeout,
        "socket_keepalive": True,
        "health_check_interval": 15,
        "retry": SyncRetry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    if sentinel.is_sentinel_url(url):
        return sentinel.sync_master(_sentinel_url(url), **settings)
    return redis.Redis.from_url(url, **settings)


def _sentinel_url(url: str) -> sentinel.SentinelURL:
    try:
        return sentinel.parse(url)
    except sentinel.InvalidSentinelURL as exc:
        raise ConfigError("REDIS_URL", describe(url), str(exc)) from None


def backoff(attempt: int, *, base: float = 0.2, cap: float = 5.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): redis-py's exponential
    backoff with full jitter (the attempt is bounded, so it never overflows)."""
    return ExponentialWithJitterBackoff(cap=cap, base=base).compute(min(attempt, 32))


async def connect(
    url: str,
    *,
    give_up_after: float | None = None,
    on_waiting: Callable[[str], Awaitable[None] | None] | None = None,
) -> aioredis.Redis:
    """A client whose broker answered PING; wait with backoff while it does not.

    ``give_up_after`` bounds the wait (seconds) (``None``: wait for ever); past it the last error is
    raised. ``on_waiting`` is told the reason each time an attempt fails.
    """
    redis = client(url)
    try:
        await _wait_until_up(redis, url, give_up_after, on_waiting)
    except BaseException:
        await redis.aclose()
        raise
    return redis


async def wait_until_up(
    redis: aioredis.Redis,
    url: str,
    *,
    give_up_after: float | None = None,
    on_waiting: Callable[[str], Awaitable[None] | None] | None = None,
    unless: asyncio.Event | None = None,
) -> bool:
    """Return once ``redis`` (a client for ``url``) answers PING: :func:`connect` for a
    client made beforehand. ``False`` if ``unless`` is set first (stop waiting)."""
    if unless is None:
        await _wait_until_up(redis, url, give_up_after, on_waiting)
        return True
    up = asyncio.create_task(_wait_until_up(redis, url, give_up_after, on_waiting))
    stopped = asyncio.create_task(unless.wait())
    await asyncio.wait({up, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not up.done():
        up.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await up
        return False
    up.result()
    return True


async def _wait_until_up(
    redis: aioredis.Redis,
    url: str,
    give_up_after: float | None,
    on_waiting: Callable[[str], Awaitable[None] | None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    attempt = 0
    while True:
        try:
            await redis.ping()
        except (RedisError, OSError) as exc:
            reason = f"broker {describe(url)} unreachable: {exc}"
            if attempt == 0:
                log.warning("%s; retrying with backoff", reason)
            if on_waiting is not None:
                result = on_waiting(reason)
                if result is not None:
                    await result
            if deadline is not None and loop.time() >= deadline:
                raise
            await asyncio.sleep(backoff(attempt))
            attempt += 1
            continue
        if attempt:
            log.info("broker %s reachable again", describe(url))
        return
