"""Pub/sub: confirmed subscriptions, the one way any part listens to a channel.

:func:`subscribe` returns once the server has confirmed every channel, so whatever
is published after it returns is delivered: subscribe *before* reading a snapshot,
and snapshot + live has no gap. A :class:`Subscription` hands out message payloads;
while redis-py re-subscribes by itself after a blip, :meth:`Subscription.listen`
yields ``None`` (a sync point: messages may have been missed). A fast stream is read
in runs: :meth:`Subscription.batches` hands out, as one list, every message already
received (tens of thousands a second cost the reader a few microseconds each).

On one server (not a cluster) a subscription rides a raw link
(:class:`~backend.store.link_subscription.LinkSubscription`, the same interface and
promises, read without redis-py's read path); a cluster's sharded channels, and a
client whose connections cannot be taken over, use redis-py's pub/sub as below.

Channel names go through the key layout (:meth:`backend.keys.Layout.channel`): in a
cluster, ``task_updates`` is read from the sharded status channel (``SSUBSCRIBE`` on the
node that owns it), so callers subscribe by the same names everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.asyncio.client import PubSub

from backend import connection, keys
from backend.keys import Layout
from backend.store.base import Base

SUBSCRIBE_TIMEOUT = 5.0
"""Seconds :func:`subscribe` waits for the server to confirm."""
SHARDED_POLL = 1.0
"""Seconds one wait for a sharded message lasts before the next node's turn."""
_CLASSIC = ("message", "subscribe")


def _parsed(pubsub: PubSub) -> Any:
    """The hiredis reader of ``pubsub``'s connection while it is connected (it holds
    the replies received but not yet read), else ``None`` (or not hiredis's parser)."""
    parser = getattr(pubsub.connection, "_parser", None)
    reader = getattr(parser, "_reader", None)
    if not isinstance(reader, hiredis.Reader) or not getattr(parser, "_connected", False):
        return None
    return reader


class Subscription:
    """A confirmed subscription; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(self, pubsub: PubSub, *, sharded: bool = False) -> None:
        self._pubsub = pubsub
        self._sharded = sharded
        self._data, self._subscribed = ("smessage", "ssubscribe") if sharded else _CLASSIC
        self._data_kinds = {self._data, self._data.encode()}
        self._arrived: asyncio.Queue[dict[str, Any] | BaseException] | None = None
        self._pumps: list[asyncio.Task[None]] = []

    async def listen(self) -> AsyncIterator[bytes | None]:
        """Each message's payload, in order; ``None`` when redis-py re-subscribed after
        a lost connection. Raises what a lost connection raises when it cannot."""
        async for batch in self.batches():
            if batch is None:
                yield None
            else:
                for data in batch:
                    yield data

    async def batches(self) -> AsyncIterator[list[bytes] | None]:
        """The payloads of :meth:`listen` in the same order, as lists of those already
        received together (never empty); ``None`` when redis-py re-subscribed.

        One reply is awaited through redis-py (reconnect, re-subscribe, health checks);
        the complete replies its parser already holds are then taken without another
        await each, and without building redis-py's message dicts."""
        if self._sharded:
            async for message in self._sharded_messages():
                kind = message.get("type")
                if kind == self._data:
                    yield [message["data"]]
                elif kind == self._subscribed:
                    yield None
            return
        pubsub = self._pubsub
        data_kinds = self._data_kinds
        skipped = pubsub.health_check_response
        while pubsub.subscribed:
            reply = await pubsub.parse_response(block=True)
            reader = _parsed(pubsub)
            batch: list[bytes] = []
            taken = False
            while True:
                if isinstance(reply, list) and len(reply) == 3 and reply[0] in data_kinds:
                    batch.append(reply[2])
                elif isinstance(reply, Exception):  # as redis-py's read raises it
                    if batch:
                        yield batch
                    raise reply
                elif reply is not None and reply not in skipped:
                    if batch:  # (un)subscribe and the like: handled by redis-py
                        yield batch
                        batch = []
                    message = await pubsub.handle_message(reply)
                    if message is not None and message.get("type") == self._subscribed:
                        yield None
                    reader = _parsed(pubsub)
                if reader is None:
                    break
                reply = reader.gets()
                if reply is NOT_ENOUGH_DATA or reply is False:
                    break
                taken = True
            connection = pubsub.connection
            if taken and connection is not None and connection.health_check_interval:
                # each reply read postpones the next health check, as redis-py's read does
                now = asyncio.get_running_loop().time()
                connection.next_health_check = now + connection.health_check_interval
            if batch:
                yield batch

    async def _sharded_messages(self) -> AsyncIterator[dict[str, Any]]:
        arrived = self._merged()
        while arrived is not None:  # a sharded queue's channels on several nodes
            yield _unless_error(await arrived.get())
        while True:  # a cluster's sharded channel, on its node
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

    def _merged(self) -> asyncio.Queue[dict[str, Any] | BaseException] | None:
        """With sharded channels on several nodes: the queue every node's messages
        arrive in, each node read by a task of its own (so a quiet node never delays a
        busy one); ``None`` otherwise."""
        nodes = list(getattr(self._pubsub, "node_pubsub_mapping", {}).values())
        if self._arrived is None and len(nodes) > 1:
            arrived = self._arrived = asyncio.Queue()
            self._pumps = [asyncio.create_task(_pump(node, arrived)) for node in nodes]
        return self._arrived

    async def _next(self, within: float | None, **options: Any) -> dict[str, Any] | None:
        arrived = self._merged() if self._sharded else None
        if arrived is not None:
            try:
                if within:
                    item = await asyncio.wait_for(arrived.get(), within)
                else:
                    item = arrived.get_nowait()
            except (TimeoutError, asyncio.QueueEmpty):
                return None
            merged = _unless_error(item)
            skip = options.get("ignore_subscribe_messages") and merged.get("type") != "smessage"
            return None if skip else merged
        if self._sharded:
            message: dict[str, Any] | None = await self._pubsub.get_sharded_message(
                timeout=within or 0.0, **options
            )
            return message
        return await self._pubsub.get_message(timeout=within, **options)

    async def aclose(self) -> None:
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
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


async def _pump(node: PubSub, into: asyncio.Queue[dict[str, Any] | BaseException]) -> None:
    """Every message of one node's pub/sub connection into ``into``; what a read
    raises goes there too, and ends the pump."""
    try:
        while True:
            message = await node.get_message(timeout=SHARDED_POLL)
            if message is not None:
                into.put_nowait(message)
    except Exception as exc:
        into.put_nowait(exc)


def _unless_error(item: dict[str, Any] | BaseException) -> dict[str, Any]:
    if isinstance(item, BaseException):
        raise item
    return item


async def subscribe(
    client: aioredis.Redis,
    *channels: str,
    confirm_within: float = SUBSCRIBE_TIMEOUT,
    layouts: Sequence[Layout] = (),
) -> Subscription:
    """A subscription to ``channels`` that the server has confirmed (within
    ``confirm_within`` seconds, or ``TimeoutError``). The names are mapped by each of
    ``layouts``, by default the client's key layout; in a cluster the status updates
    come from the sharded channel of every shard of the queue
    (:func:`backend.shards.update_layouts`)."""
    if not layouts:
        layouts = [connection.layout(client)]
        if layouts[0].cluster and keys.UPDATES_CHANNEL in channels:
            from backend.shards import update_layouts  # (it reads the settings)

            layouts = await update_layouts(client)
    mapped = [layout.channel(name) for layout in layouts for name in channels]
    mapped = list(dict.fromkeys(mapped))
    names = [name for name, _ in mapped]
    sharded = any(shard for _, shard in mapped)
    if sharded and not all(shard for _, shard in mapped):
        raise ValueError(f"subscribe sharded and classic channels separately: {channels}")
    if not sharded:
        from backend.store.link_subscription import LinkSubscription  # (a Subscription)

        fed = await LinkSubscription.open(client, names, confirm_within)
        if fed is not None:
            return fed
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

    async def subscribe(self, *channels: str, client: aioredis.Redis | None = None) -> Subscription:
        """A confirmed subscription on the store's listener client (or ``client``)."""
        return await subscribe(
            client or self.listener, *channels, layouts=await self.channel_layouts()
        )

    async def channel_layouts(self) -> list[Layout]:
        """The layouts whose status channels carry this store's updates."""
        return [self.keys]
