"""A connection of its own for raw commands: :func:`dedicated`.

Raw RESP goes out on a connection taken from the pool for the purpose where no raw
link (:mod:`backend.raw_link`) carries it: to a cluster's nodes (the submit and write
scripts, a worker's blocking read), and the pipelined batches of a large submit
(``TaskStore.enqueue_new``). Taking
one from redis-py's pool and giving it back costs about 23 µs here (a lock each way,
an event and four usage counters), three times per task on the path from submit to
result. So each pool keeps up to :data:`KEEP` of the connections given back (a
worker's blocking read and its writes overlap: two) and hands them to the next
callers, checked as the pool checks its own (connected, nothing left unread: else it
reconnects); more callers at once take others from the pool as before. Kept
connections stay the pool's (in use, as far as it knows): closing the client closes
them too.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection, ConnectionPool

KEEP = 4
"""Connections given back that a pool keeps for the next :func:`dedicated` callers."""

_kept: weakref.WeakKeyDictionary[ConnectionPool, list[AbstractConnection]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def dedicated(redis: Any, key: str) -> AsyncIterator[AbstractConnection]:
    """A connection of its own to the server that holds ``key``, for pipelining raw
    commands; disconnected on error (replies may be left unread)."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()
        node = redis.get_node_from_key(key)
        link = node.acquire_connection()
        try:
            yield link
        except BaseException:
            await link.disconnect()
            raise
        finally:
            node.release(link)
        return
    pool = redis.connection_pool
    kept = _kept.get(pool)
    if kept is None:
        kept = _kept.setdefault(pool, [])
    if not kept:
        link = await pool.get_connection()
    else:
        link = kept.pop()
        try:
            await pool.ensure_connection(link)  # what the pool checks before lending one
        except BaseException:
            await pool.release(link)
            raise
    try:
        yield link
    except BaseException:
        await link.disconnect()
        await pool.release(link)
        raise
    if len(kept) < KEEP:
        kept.append(link)  # the next caller's, still in use as far as the pool knows
    else:
        await pool.release(link)
