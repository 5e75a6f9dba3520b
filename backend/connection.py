"""Connecting to Redis: one client factory, and waiting for a broker with backoff.

Every part gets its client from :func:`client`, so timeouts, keep-alive and the
retry policy for single commands are the same everywhere. :func:`connect` waits
for the broker to answer, logging one clear line while it does not.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

BROKER_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
"""What a lost or unreachable broker raises."""


def describe(url: str) -> str:
    """The broker's address for people: scheme, host and port, never the password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 6379}"


def client(url: str, *, timeout: float | None = 5.0) -> aioredis.Redis:
    """An asyncio client for ``url``; the socket timeout is off for blocking reads."""
    return aioredis.from_url(
        url,
        socket_connect_timeout=5.0,
        socket_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def backoff(attempt: int, *, base: float = 0.2, cap: float = 5.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential, jittered."""
    return float(min(cap, base * 2**attempt) * (0.5 + random.random() / 2))


async def retry_delays(base: float = 0.2, cap: float = 5.0) -> AsyncIterator[int]:
    """Yield attempt numbers forever, sleeping a growing backoff between them."""
    attempt = 0
    while True:
        yield attempt
        await asyncio.sleep(backoff(attempt, base=base, cap=cap))
        attempt += 1


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
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    redis = client(url)
    said = False
    async for _ in retry_delays():
        try:
            await redis.ping()
        except (RedisError, OSError) as exc:
            reason = f"broker {describe(url)} unreachable: {exc}"
            if not said:
                log.warning("%s; retrying with backoff", reason)
                said = True
            if on_waiting is not None:
                result = on_waiting(reason)
                if result is not None:
                    await result
            if deadline is not None and loop.time() >= deadline:
                await redis.aclose()
                raise
            continue
        if said:
            log.info("broker %s reachable again", describe(url))
        return redis
    raise AssertionError("unreachable")
