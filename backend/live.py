"""Following ``task_updates``: confirmed subscriptions, and the loop every
long-running viewer shares.

:func:`follow` subscribes, calls ``on_sync`` once the subscription is confirmed (so a
snapshot read there misses nothing: updates published meanwhile are already queued
for us), then hands every message to ``on_message``. When the broker goes away it
says so once, retries with backoff and syncs again on return; when redis-py
re-subscribes by itself after a blip, that is a sync point too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from backend import connection, keys
from backend.errors import ProtocolError
from backend.protocol import StatusUpdate, decode_update

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 5.0
"""Seconds :func:`subscribe_updates` waits for the server to confirm."""

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


async def status_updates(redis: aioredis.Redis) -> AsyncIterator[StatusUpdate]:
    """Live status updates from ``task_updates``; a message that does not parse is
    logged and skipped. Ends when the connection is lost (the caller reconnects)."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.UPDATES_CHANNEL)
    try:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                yield decode_update(message["data"])
            except ProtocolError as exc:
                log.warning("ignoring a status update: %s", exc)
    finally:
        await pubsub.aclose()


async def subscribe_updates(redis: aioredis.Redis) -> PubSub:
    """A pub/sub on ``task_updates`` that the server has confirmed: every update
    published after this returns is delivered. Subscribe with it *before* reading a
    snapshot, so snapshot + live has no gap. Read with ``pubsub.listen()`` and keep
    messages whose ``type`` is ``"message"``; close with ``aclose()``."""
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(keys.UPDATES_CHANNEL)
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
            while True:
                message = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT)
                if message is not None and message.get("type") == "subscribe":
                    return pubsub
    except BaseException:
        await pubsub.aclose()
        raise
