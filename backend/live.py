"""Following ``task_updates``: the loop every long-running viewer shares.

:func:`follow` subscribes (a confirmed subscription from :mod:`backend.store`),
calls ``on_sync`` once the subscription is confirmed (so a snapshot read there
misses nothing: updates published meanwhile are already queued for us), then hands
every message to ``on_message``. When the broker goes away it says so once, retries
with backoff and syncs again on return (:func:`backend.outage.keep_running`); when
redis-py re-subscribes by itself after a blip, that is a sync point too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis

from backend import keys
from backend.errors import ProtocolError
from backend.outage import Outage, keep_running
from backend.protocol import StatusUpdate, decode_update
from backend.store import Subscription, subscribe

log = logging.getLogger(__name__)

OnSync = Callable[[bool], Awaitable[None]]
"""Called after each (re)subscription; ``True`` when it follows a lost connection."""


async def follow(
    listener: aioredis.Redis,
    on_message: Callable[[bytes], None],
    on_sync: OnSync,
    log: logging.Logger,
) -> None:
    """Feed ``on_message`` every update until cancelled, syncing on every subscribe."""
    outage = Outage(log=log)

    async def session() -> None:
        async with await subscribe_updates(listener) as subscription:
            await on_sync(outage.down)
            outage.ok()
            async for data in subscription.listen():
                if data is not None:
                    on_message(data)
                else:  # redis-py reconnected by itself
                    log.info("reconnected to the broker")
                    await on_sync(True)

    await keep_running(session, outage, name="following task updates")


async def status_updates(redis: aioredis.Redis) -> AsyncIterator[StatusUpdate]:
    """Live status updates from ``task_updates``; a message that does not parse is
    logged and skipped. Ends when the connection is lost (the caller reconnects)."""
    async with await subscribe_updates(redis) as subscription:
        async for data in subscription.listen():
            if data is None:
                continue
            try:
                yield decode_update(data)
            except ProtocolError as exc:
                log.warning("ignoring a status update: %s", exc)


async def subscribe_updates(redis: aioredis.Redis) -> Subscription:
    """A confirmed subscription to ``task_updates`` (see :func:`backend.store.subscribe`)."""
    return await subscribe(redis, keys.UPDATES_CHANNEL)
