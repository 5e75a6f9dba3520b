"""A subscription over a raw link (:mod:`backend.raw_link`): the one a client of one
server gets from :func:`backend.store.subscribe`.

Each message is taken from the parser as it arrives and kept until the reader asks
(:meth:`~LinkSubscription.batches`), without redis-py's read path: on the way from a
submit to its result, the client hears two updates per task, and redis-py's read of
each cost it about 50 µs more than this one.

What the reader sees is :class:`~backend.store.channels.Subscription`'s:
- payloads in order, in lists of those that arrived together;
- ``None`` when the link was lost and a new one has subscribed again (messages may
  have been missed in between);
- the error, if the broker cannot be reached again (as redis-py raises once its
  retries give up).

A quiet link is checked as redis-py checks a subscription: after a
``health_check_interval`` in which no message came, a ``PING`` must be answered, or
the link is replaced.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from backend import raw_link
from backend.raw_link import Link
from backend.store.channels import Subscription
from backend.store.framing import command

PING_WITHIN = 5.0
"""Seconds a quiet link has to answer its health check."""


class LinkSubscription(Subscription):
    """A confirmed subscription to classic channels on a raw link. It reads as its base
    class promises; of the base's code it uses :meth:`listen` and the context manager,
    which rest on :meth:`batches` and :meth:`aclose`."""

    def __init__(self, client: aioredis.Redis, names: Sequence[str], link: Link) -> None:
        self._client = client
        self._names = list(names)
        self._messages: deque[bytes] = deque()
        self._wake: asyncio.Future[bool] | None = None
        self._quiet = float(link.connection.health_check_interval or 0) or None
        self._heard = False
        """Whether a message came since the last health-check interval began."""
        self._check_due = False
        self._watch: asyncio.Handle | None = None
        self._link = self._fed(link)

    @classmethod
    async def open(
        cls, client: aioredis.Redis, names: Sequence[str], within: float
    ) -> LinkSubscription | None:
        """A subscription to ``names`` the server confirmed within ``within`` seconds;
        ``None`` where no raw link can be had (then redis-py's is used)."""
        link = await raw_link.opened(client)
        if link is None:
            return None
        subscription = cls(client, names, link)
        try:
            await subscription._subscribe(within)
        except BaseException:
            await subscription.aclose()
            raise
        subscription._arm_watch()
        return subscription

    async def batches(self) -> AsyncIterator[list[bytes] | None]:
        arrived = self._messages
        while True:
            if arrived:
                batch = list(arrived)
                arrived.clear()
                yield batch
            elif self._link.broken is not None:
                await self._again()
                yield None
            elif self._check_due:
                self._check_due = False
                await self._check()
            else:
                await self._next_arrival(None)

    async def get(self, within: float | None) -> bytes | None:
        if not self._messages:
            if self._link.broken is not None:
                await self._again()
                return None
            if within == 0 or not await self._next_arrival(within):
                return None
        return self._messages.popleft() if self._messages else None

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        link = self._link
        link.pushed = None
        link.close(RedisConnectionError("the subscription was closed"))
        await link.discard()

    def _fed(self, link: Link) -> Link:
        link.pushed = self._pushed
        return link

    def _pushed(self, message: list[Any] | None) -> None:
        if message is not None:
            self._messages.append(message[2])
            self._heard = True
        self._wake_reader(True)

    def _wake_reader(self, heard: bool) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(heard)

    def _arm_watch(self) -> None:
        """Check the link after each health-check interval in which no message came:
        one timer an interval, not one per wait."""
        if self._quiet is not None:
            self._watch = asyncio.get_running_loop().call_later(self._quiet, self._watched)

    def _watched(self) -> None:
        if not self._heard:
            self._check_due = True
            self._wake_reader(False)
        self._heard = False
        self._arm_watch()

    async def _next_arrival(self, within: float | None) -> bool:
        """Wait for a message or the link's end (``True``), or ``within`` seconds
        (``False``; ``None``: no limit)."""
        loop = asyncio.get_running_loop()
        wake = self._wake = loop.create_future()
        timer = None if within is None else loop.call_later(within, self._wake_reader, False)
        try:
            return await wake
        finally:
            self._wake = None
            if timer is not None:
                timer.cancel()

    async def _subscribe(self, within: float) -> None:
        link = self._link
        for confirmed in link.send(command(["SUBSCRIBE", *self._names]), len(self._names)):
            await link.reply(confirmed, within)

    async def _check(self) -> None:
        """A quiet link must answer a ``PING`` (else it has ended)."""
        try:
            [pong] = self._link.send(command(["PING"]))
            await self._link.reply(pong, PING_WITHIN)
        except Exception as exc:
            self._link.close(exc)

    async def _again(self) -> None:
        """A new link, subscribed to the same channels (raises if the broker cannot be
        reached: redis-py's connection retries first)."""
        await self._link.discard()
        link = await raw_link.opened(self._client)
        if link is None:
            raise RedisConnectionError("the broker can no longer be subscribed to")
        self._link = self._fed(link)
        await self._subscribe(PING_WITHIN)
