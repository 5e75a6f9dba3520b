"""Clients of the master a ``redis+sentinel://`` URL names, which follow failovers.

:func:`async_master` and :func:`sync_master` build redis-py's ``Sentinel.master_for``
clients from a :class:`~backend.sentinel.SentinelURL` (``backend.connection`` calls them):
every new connection asks the sentinels where the master is now.

redis-py asks the sentinels only when it opens a connection, so after a failover that
leaves the old master running (``SENTINEL FAILOVER``, a partition) open connections
would keep talking to it until the sentinels demote it, up to 10 s later (their INFO
period); and a sentinel that has not heard of the failover yet may still name the old
master to a new connection. An asyncio client therefore also asks the sentinels every
:data:`FOLLOW_EVERY` seconds while it is in use, and drops each connection (pub/sub and
blocking reads included) that is not to the master they name: its user sees a lost
connection and reconnects to the new master. A blocking client asks when it takes a
connection (at most as often), and drops its idle connections to the old master.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel as syncsentinel
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

from backend.sentinel import SentinelURL

FOLLOW_EVERY = 1.0
"""Seconds between two questions to the sentinels from a client in use."""


class FollowingPool(aiosentinel.SentinelConnectionPool):
    """A sentinel connection pool that notices a new master while its connections are
    open (see the module's docstring), and drops those to another server."""

    _follower: asyncio.Task[None] | None = None
    master_address: Any
    _available_connections: list[Any]
    _in_use_connections: set[Any]

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._follower is None or self._follower.done():
            self._follower = asyncio.get_running_loop().create_task(self._follow())
        return await super().get_connection(*args, **kwargs)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(FOLLOW_EVERY)
            try:
                named = await self.sentinel_manager.discover_master(self.service_name)
            except aiosentinel.MasterNotFoundError:
                continue  # no master yet (a failover under way); connections fail by themselves
            stale = [
                link
                for link in (*self._available_connections, *self._in_use_connections)
                if link.is_connected and (link.host, link.port) != named
            ]
            if stale:
                self.master_address = named
                await asyncio.gather(*(link.disconnect() for link in stale), return_exceptions=True)

    async def disconnect(self, inuse_connections: bool = True) -> None:
        if inuse_connections:  # closing (or reset): stop asking; a later use starts again
            follower, self._follower = self._follower, None
            if follower is not None and follower is not asyncio.current_task():
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
        await super().disconnect(inuse_connections)


class AsyncSentinelMaster(aioredis.Redis):
    """An asyncio client of the current master; closing it closes its sentinels too."""

    sentinel: aiosentinel.Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        sentinel, self.sentinel = self.sentinel, None
        if sentinel is not None:
            await sentinel.aclose()


class FollowingSyncPool(syncsentinel.SentinelConnectionPool):
    """:class:`FollowingPool` for blocking clients: with no loop to ask the sentinels in
    the background, it asks them when a connection is taken, at most every
    :data:`FOLLOW_EVERY` seconds, and drops idle connections not to the master named."""

    proxy: Any
    _available_connections: list[Any]
    _lock: Any
    _asked_at = float("-inf")

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        if now - self._asked_at >= FOLLOW_EVERY:
            self._asked_at = now
            self._drop_stale()
        return super().get_connection(*args, **kwargs)

    def _drop_stale(self) -> None:
        try:
            named = self.sentinel_manager.discover_master(self.service_name)
        except syncsentinel.MasterNotFoundError:
            return  # no master yet: connecting fails by itself
        with self._lock:
            stale = [
                link
                for link in self._available_connections
                if link.is_connected and (link.host, link.port) != named
            ]
            for link in stale:
                link.disconnect()
            if stale:
                self.proxy.master_address = named


class SyncSentinelMaster(redis.Redis):
    """A blocking client of the current master; closing it closes its sentinels too."""

    sentinel: syncsentinel.Sentinel | None = None

    def close(self) -> None:
        super().close()
        sentinel, self.sentinel = self.sentinel, None
        if sentinel is not None:
            sentinel.close()


def async_master(url: SentinelURL, **connection: Any) -> AsyncSentinelMaster:
    """An asyncio client that always talks to the service's current master.

    ``connection``: socket and retry settings for the master's connections.
    """
    from redis.asyncio.retry import Retry

    sentinel_kwargs = url.sentinel_kwargs(connection.get("socket_connect_timeout"))
    sentinel_kwargs["retry"] = Retry(NoBackoff(), 0)
    sentinel = aiosentinel.Sentinel(url.sentinels, sentinel_kwargs=sentinel_kwargs)
    master = sentinel.master_for(
        url.service,
        redis_class=AsyncSentinelMaster,
        connection_pool_class=FollowingPool,
        **url.master_kwargs(),
        **connection,
    )
    master.sentinel = sentinel
    return master


def sync_master(url: SentinelURL, **connection: Any) -> SyncSentinelMaster:
    """A blocking client that always talks to the service's current master."""
    sentinel_kwargs = url.sentinel_kwargs(connection.get("socket_connect_timeout"))
    sentinel_kwargs["retry"] = SyncRetry(NoBackoff(), 0)
    sentinel = syncsentinel.Sentinel(url.sentinels, sentinel_kwargs=sentinel_kwargs)
    master = sentinel.master_for(
        url.service,
        redis_class=SyncSentinelMaster,
        connection_pool_class=FollowingSyncPool,
        **url.master_kwargs(),
        **connection,
    )
    master.sentinel = sentinel
    return master
