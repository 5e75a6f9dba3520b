"""Pub/sub: confirmed subscriptions, the one way any part listens to a channel.

:func:`subscribe` returns once the server has confirmed every channel, so whatever
is published after it returns is delivered: subscribe *before* reading a snapshot,
and snapshot + live has no gap. A :class:`Subscription` hands out message payloads;
while redis-py re-subscribes by itself after a blip, :meth:`Subscription.listen`
yields ``None`` (a sync point: messages may have been missed).

Channel names go through the key layout (:meth:`backend.keys.Layout.channel`): in a
cluster, ``task_updates`` is read from the sharded status channel (``SSUBSCRIBE`` on the
node that owns it), so callers subscribe by the same names everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from backend import connection
from backend.store.base import Base

SUBSCRIBE_TIMEOUT = 5.0
"""Seconds :func:`subscribe` waits for the server to confirm."""
SHARDED_POLL = 1.0
"""Seconds one wait for a sharded message lasts before the next node's turn."""
_CLASSIC = ("message", "subscribe")


class Subscription:
    """A confirmed subscription; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(self, pubsub: PubSub, *, sharded: bool = False) -> None:
        self._pubsub = pubsub
        self._sharded = sharded
        self._data, self._subscribed = ("smessage", "ssubscribe") if sharded else _CLASSIC

    async def listen(self) -> AsyncIterator[bytes | None]:
        """Each message's payload, in order; ``None`` when redis-py re-subscribed after
        a lost connection. Raises what a lost connection raises when it cannot."""
        async for message in self._messages():
            kind = message.get("type")
            if kind == self._data:
                yield message["data"]
            elif kind == self._subscribed:
                yield None

    async def _messages(self) -> AsyncIterator[dict[str, Any]]:
        if not self._sharded:
            async for message in self._pubsub.listen():
                yield message
            return
        while True:  # a cluster's sharded channels: polled across their nodes
            message = await self._pubsub.get_sharded_message(timeout=SHARDED_POLL)
            if message is not None:
                yield message

    async def get(self, within: float | None) -> bytes | None:
        """The next message's payload within ``within`` seconds, or ``None``."""
        message = await self._next(within, ignore_subscribe_messages=True)
        if message is None or message.get("type") != self._data:
            return None
        data: bytes = message["data"]
        return data

    async def _next(self, within: float | None, **options: Any) -> dict[str, Any] | None:
        if self._sharded:
            message: dict[str, Any] | None = await self._pubsub.get_sharded_message(
                timeout=within or 0.0, **options
            )
            return message
        return await self._pubsub.get_message(timeout=within, **options)

    async def aclose(self) -> None:
        await self._pubsub.aclose()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def subscribe(
    client: aioredis.Redis, *channels: str, confirm_within: float = SUBSCRIBE_TIMEOUT
) -> Subscription:
    """A subscription to ``channels`` that the server has confirmed (within
    ``confirm_within`` seconds, or ``TimeoutError``). The names are mapped by the
    client's key layout (a cluster's status updates: a sharded channel)."""
    layout = connection.layout(client)
    mapped = [layout.channel(name) for name in channels]
    names = [name for name, _ in mapped]
    sharded = any(shard for _, shard in mapped)
    if sharded and not all(shard for _, shard in mapped):
        raise ValueError(f"subscribe sharded and classic channels separately: {channels}")
    pubsub = await connection.pubsub(client)
    subscription = Subscription(pubsub, sharded=sharded)
    try:
        await (pubsub.ssubscribe if sharded else pubsub.subscribe)(*names)
        waiting = len(set(names))
        async with asyncio.timeout(confirm_within):
            while waiting:
                message = await subscription._next(confirm_within)
                if message is not None and message.get("type") == subscription._subscribed:
                    waiting -= 1
    except BaseException:
        await pubsub.aclose()
        raise
    return subscription


class Channels(Base):
    """Subscribing and publishing through the store's clients."""

    async def subscribe(self, *channels: str) -> Subscription:
        """A confirmed subscription on the store's listener client."""
        return await subscribe(self.listener, *channels)
