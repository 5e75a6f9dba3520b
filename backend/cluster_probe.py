"""Whether a broker is a node of a Redis/Valkey Cluster (``DISTRITASK_CLUSTER``).

``on`` and ``off`` say so; ``auto`` asks the server (``INFO cluster``) once per process
and remembers the answer (a Unix socket's server it takes for a single one, unasked).
A Sentinel URL is never a cluster.
:func:`is_cluster` asks from blocking code (the client factories of
:mod:`backend.connection` call it), :func:`probe` from code on an event loop.
"""

from __future__ import annotations

import logging
from typing import Literal

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend import sentinel
from backend.broker_url import describe, is_unix

log = logging.getLogger(__name__)

ClusterMode = Literal["auto", "on", "off"]
"""``DISTRITASK_CLUSTER``: ``auto`` asks the server (``INFO cluster``), ``on``/``off`` say."""
PROBE_TIMEOUT = 2.0
"""Seconds the ``auto`` probe waits for the server."""
_probed: dict[str, bool] = {}


def is_cluster(url: str, mode: ClusterMode = "auto") -> bool:
    """Whether ``url`` is a node of a Redis/Valkey Cluster: ``on``/``off`` say so;
    ``auto`` asks the server once per process (``INFO cluster``: ``cluster_enabled``).

    A server that does not answer the probe within :data:`PROBE_TIMEOUT` is taken as a
    single server (and asked again next time), with a warning: set
    ``DISTRITASK_CLUSTER=on`` where a cluster may be down when a part starts.
    """
    if sentinel.is_sentinel_url(url):
        return False
    if mode != "auto":
        return mode == "on"
    if is_unix(url):
        return False
    known = _probed.get(url)
    if known is not None:
        return known
    asking = redis.Redis.from_url(
        url, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
    )
    try:
        enabled = int(asking.info("cluster").get("cluster_enabled", 0)) == 1
    except (RedisError, OSError) as exc:
        log.warning(
            "broker %s did not answer whether it is a cluster (%s); taking it as a single "
            "server (set DISTRITASK_CLUSTER=on for a cluster)",
            describe(url),
            exc,
        )
        return False
    finally:
        asking.close()
    _probed[url] = enabled
    return enabled


async def probe(url: str, mode: ClusterMode = "auto") -> ClusterMode:
    """:func:`is_cluster` for code on an event loop, as ``on`` or ``off``: it asks the
    server without blocking the loop, and raises what an unreachable broker raises
    (the caller retries as for any outage) rather than guessing a single server."""
    known = _probed.get(url)
    if mode != "auto" or known is not None or sentinel.is_sentinel_url(url) or is_unix(url):
        return "on" if is_cluster(url, mode) else "off"  # no question to the server
    asking = aioredis.from_url(
        url, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
    )
    try:
        enabled = int((await asking.info("cluster")).get("cluster_enabled", 0)) == 1
    finally:
        await asking.aclose()
    _probed[url] = enabled
    return "on" if enabled else "off"
