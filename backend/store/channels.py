"""Pub/sub: confirmed subscriptions, the one way any part listens to a channel.

:func:`subscribe` returns once the server has confirmed every channel, so whatever
is published after it returns is delivered: subscribe *before* reading a snapshot,
and snapshot + live has no gap. A :class:`Subscription` hands out message payloads;
while redis-py re-subscribes by itself after a blip, :meth:`Subscription.listen`
yields ``None`` (a sync point: messages may have been missed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from backend import connection
from backend.store.base import Base

SUBSCRIBE_TIMEOUT = 5.0
"""Seconds :func:`subscribe` waits for the server to confirm."""


class Subscription:
    """A confirmed subscription; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def listen(self) -> AsyncIterator[bytes | None]:
        """Each message's payload, in order; ``None`` when redis-py re-subscribed after
        a lost connection. Raises what a lost connection raises when it cannot."""
        async for message in self._pubsub.listen():
            kind = message.get("type")
            if kind == "message":
                yield message["data"]
            elif kind == "subscribe":
                yield None

    async def get(self, within: float | None) -> bytes | None:
        """The next message's payload within ``within`` seconds, or ``None``."""
        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=within)
        if message is None or message.get("type") != "message":
            return None
        data: bytes = message["data"]
        return data

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
    ``confirm_within`` seconds, or ``TimeoutError``)."""
    pubsub = await connection.pubsub(client)
    try:
        await pubsub.subscribe(*channels)
        waiting = len(set(channels))
        async with asyncio.timeout(confirm_within):
            while waiting:
                message = await pubsub.get_message(timeout=confirm_within)
                if message is not None and message.get("type") == "subscribe":
                    waiting -= 1
    except BaseException:
        await pubsub.aclose()
        raise
    return Subscription(pubsub)


class Channels(Base):
    """Subscribing and publishing through the store's clients."""

    async def subscribe(self, *channels: str) -> Subscription:
        """A confirmed subscription on the store's listener client."""
        return await subscribe(self.listener, *channels)
