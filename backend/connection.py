"""Connecting to Redis: one client factory, one definition of "broker down", and
waiting for a broker with backoff.

Every part gets its client from :func:`client` (blocking code: :func:`sync_client`),
so timeouts, keep-alive and the retry policy for single commands are the same
everywhere; a ``redis+sentinel://`` URL gives a client that follows the master
through failovers (:mod:`backend.sentinel_clients`), a cluster node's (whether it is
one: :mod:`backend.cluster_probe`) a ``RedisCluster``. :func:`is_broker_down` is
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

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as SyncRetry

from backend import keys, sentinel, sentinel_clients
from backend.broker_url import describe, is_unix
from backend.cluster_probe import ClusterMode, is_cluster, probe
from backend.errors import ConfigError
from backend.quick_send import quicken

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
    Two more count as down, both how redis-py's cluster client fails a command whose
    connection another command closed meanwhile (a failover: the dead node's
    connections are dropped): an ``AttributeError`` raised inside redis-py's connection
    code, and, on uvloop, the ``RuntimeError`` its transport raises when redis-py's
    connection code writes to it once closed ("the handler is closed").
    """
    if isinstance(exc, BROKER_DOWN):
        return True
    if isinstance(exc, ResponseError):
        return str(exc).startswith(_TRANSIENT_REPLIES)
    if not isinstance(exc, AttributeError | RuntimeError):
        return False
    modules = _modules(exc)
    innermost = modules[-1] if modules else None
    if isinstance(exc, AttributeError):
        return innermost in _CONNECTION_MODULES
    return innermost == "uvloop.loop" and any(name in _CONNECTION_MODULES for name in modules)


_CONNECTION_MODULES = ("redis.asyncio.connection", "redis.connection")


def _modules(exc: BaseException) -> list[str | None]:
    """The modules of ``exc``'s traceback, outermost first."""
    names = []
    tb = exc.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_globals.get("__name__"))
        tb = tb.tb_next
    return names


def misconfigured(exc: BaseException) -> str | None:
    """What to change when ``exc`` says the client is of the wrong kind, else ``None``:
    a single-server client got a cluster's ``MOVED``/``ASK`` redirection (``auto`` took
    the node for a single server because it did not answer when the process started)."""
    if isinstance(exc, AskError):  # MovedError included
        return (
            "REDIS_URL is a node of a Redis/Valkey Cluster, taken for a single server "
            "(it did not answer when this process started): set DISTRITASK_CLUSTER=on"
        )
    return None


def client(
    url: str,
    *,
    timeout: float | None = 5.0,
    cluster: ClusterMode = "auto",
    name: str | None = None,
) -> aioredis.Redis:
    """An asyncio client for ``url``; the socket timeout is off for blocking reads.

    For a node of a Redis/Valkey Cluster (:func:`~backend.cluster_probe.is_cluster`) it
    is a ``RedisCluster``: the same commands, routed by key to the node that owns it,
    and the store names its keys by the cluster layout (:func:`layout`). Raises
    ConfigError for a malformed ``redis+sentinel://`` URL.

    ``name``: on a single server, the name each connection gives itself (``CLIENT
    SETNAME``, made of :func:`client_name`), so ``CLIENT LIST`` shows whose it is.
    """
    settings = _options(url, timeout, Retry)
    named = {"client_name": client_name(name)} if name else {}
    made: aioredis.Redis
    if sentinel.is_sentinel_url(url):
        made = sentinel_clients.async_master(_sentinel_url(url), **settings, **_SINGLE, **named)
    elif is_cluster(url, cluster):
        made = RedisCluster.from_url(url, **settings)
    else:
        made = aioredis.from_url(url, **settings, **_SINGLE, **named)
    quicken(made)
    return made


def client_name(name: str) -> str:
    """``name`` as a connection name: ``distritask:`` and the name, with what ``CLIENT
    SETNAME`` refuses (spaces, control and non-ASCII characters) replaced by ``_``."""
    return "distritask:" + "".join(c if "!" <= c <= "~" else "_" for c in name)


def _options(
    url: str, timeout: float | None, retry: type[Retry] | type[SyncRetry]
) -> dict[str, Any]:
    """The connection options every client of ``url`` shares (``retry``: the asyncio or
    the blocking kind of redis-py's ``Retry``); TCP keepalive for a TCP server only (a
    Unix socket has none, and redis-py refuses the option for one)."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 5.0,
        "socket_timeout": timeout,
        "retry": retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=2),
    }
    if not is_unix(url):
        options["socket_keepalive"] = True
    return options


_SINGLE: dict[str, Any] = {
    "health_check_interval": 15,
    "retry_on_error": [RedisConnectionError, RedisTimeoutError],
}
"""Options of a client of one server (a cluster client retries and checks by itself)."""


def sync_client(
    url: str, *, timeout: float | None = 5.0, cluster: ClusterMode = "auto"
) -> redis.Redis:
    """A blocking client for ``url`` (threads, scripts), set up as :func:`client`'s (a
    ``redis.RedisCluster`` for a cluster node)."""
    settings = _options(url, timeout, SyncRetry)
    if sentinel.is_sentinel_url(url):
        return sentinel_clients.sync_master(_sentinel_url(url), **settings, **_SINGLE)
    if is_cluster(url, cluster):
        cluster_client: redis.Redis = redis.RedisCluster.from_url(url, **settings)
        return cluster_client
    return redis.Redis.from_url(url, **settings, **_SINGLE)


def _sentinel_url(url: str) -> sentinel.SentinelURL:
    try:
        return sentinel.parse(url)
    except sentinel.InvalidSentinelURL as exc:
        raise ConfigError("REDIS_URL", describe(url), str(exc)) from None


def layout(redis: Any, *, classic_updates: bool = True) -> keys.Layout:
    """The key layout for a client made by :func:`client` or :func:`sync_client`
    (``classic_updates``: see :class:`backend.keys.Layout`)."""
    if isinstance(redis, RedisCluster | _SyncCluster):
        return keys.cluster(classic_updates=classic_updates)
    return keys.STANDALONE


_SyncCluster = redis.RedisCluster


async def pubsub(redis: Any) -> Any:
    """A new pub/sub object of ``redis`` (a cluster client learns its nodes first)."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()
    return redis.pubsub()


def backoff(attempt: int, *, base: float = 0.2, cap: float = 5.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): redis-py's exponential
    backoff with full jitter (the attempt is bounded, so it never overflows)."""
    return ExponentialWithJitterBackoff(cap=cap, base=base).compute(min(attempt, 32))


async def connect(
    url: str,
    *,
    give_up_after: float | None = None,
    on_waiting: Callable[[str], Awaitable[None] | None] | None = None,
    cluster: ClusterMode = "auto",
) -> aioredis.Redis:
    """A client whose broker answered PING; wait with backoff while it does not.

    ``give_up_after`` bounds the wait (seconds) (``None``: wait for ever); past it the last error is
    raised. ``on_waiting`` is told the reason each time an attempt fails. The client is
    made once the broker answers, so ``auto`` finds out whether it is a cluster.
    """
    pinged = client(url, cluster="off")
    try:
        await _wait_until_up(pinged, url, give_up_after, on_waiting)
    finally:
        await pinged.aclose()
    return client(url, cluster=await probe(url, cluster))


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
