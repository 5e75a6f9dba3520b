"""Following ``task_updates`` for ever: one loop every long-running viewer shares.

:func:`follow` subscribes, calls ``on_sync`` once the subscription is confirmed (so a
snapshot read there misses nothing: updates published meanwhile are already queued
for us), then hands every message to ``on_message``. When the broker goes away it
says so once, retries with backoff and syncs again on return; when redis-py
re-subscribes by itself after a blip, that is a sync point too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from backend import connection
from backend.store import subscribe_updates

OnSync = Callable[[bool], Awaitable[None]]
"""Called after each (re)subscription; ``True`` when it follows a lost connection."""


async def follow(
    listener: aioredis.Redis,
    on_message: Callable[[bytes], None],
    on_sync: OnSync,
    log: logging.Logger,
) -> None:
    """Feed ``on_message`` every update until cancelled, syncing on every subscribe."""
    lost = False
    async for _ in connection.retry_delays():
        try:
            pubsub = await subscribe_updates(listener)
            try:
                await on_sync(lost)
                if lost:
                    log.info("broker reachable again")
                    lost = False
                async for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "message":
                        on_message(message["data"])
                    elif kind == "subscribe":  # redis-py reconnected by itself
                        log.info("reconnected to the broker")
                        await on_sync(True)
            finally:
                await pubsub.aclose()
        except connection.BROKER_DOWN as exc:
            if not lost:
                log.warning("lost the broker (%s); retrying with backoff", exc)
                lost = True
