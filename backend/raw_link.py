"""Raw links: the commands on every task's path, sent and answered without redis-py's
layers.

The submit script, the worker's write script and the worker's blocking read are
framed here already (:func:`backend.store.framing.command`). Sent through a redis-py
connection, each still costs the caller about 115 µs of CPU on asyncio's loop (90 µs
on uvloop) for a reply the server makes in a few: the pool's lock and checks, a
timeout per send and per read, the stream reader and the parser's wrappers, three
times on the way from a submit to its result. A :class:`Link` costs 44 µs (28 µs on
uvloop): the frame is written to the transport, and the replies are parsed by hiredis
as they arrive and handed to the waiting calls in order.

**A link is a connection redis-py opened,** taken from the client's pool and then
taken over (its transport's protocol replaced): TLS, ``AUTH``, ``SELECT``, the
client's name and, behind a Sentinel URL, the choice of the master are redis-py's.
The connection stays the pool's (in use, as far as it knows), so closing the client
closes it as before.

**Calls pipeline:** each :meth:`Link.send` queues a future per reply it expects, and
replies are matched to them in order. Calls from many coroutines share one link
(:func:`shared`); a call given up (cancelled, or past its timeout) leaves its future
behind, and its reply is dropped when it comes. A blocking read must not hold up
others' calls: it takes a link of its own (:func:`taken`).

**Errors** are redis-py's: an error reply raises what redis-py would raise
(``NoScriptError``, ``ResponseError``, ``ReadOnlyError``...); a connection lost fails
every waiting call with ``ConnectionError``, a reply overdue (the client's socket
timeout) with ``TimeoutError``. Either, or a reply that says the broker is away
(:func:`backend.connection.is_broker_down`: a failover's ``READONLY``), ends the link:
the next call opens another, through the pool (to the new master). What
:func:`backend.connection.is_broker_down` says of these errors is what it says of
redis-py's own, so callers fall back or retry as they did.

Cluster clients route each command themselves and keep redis-py's connections
(:func:`backend.links.dedicated`); so does any client whose connections this
redis-py version does not let a link take over (:func:`shared` returns ``None``).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.connection import is_broker_down

_MORE = object()
"""What the parser gives while a reply is incomplete."""
_CLIENT_TIMEOUT = object()
"""``within`` not given: the client's socket timeout."""


class Link:
    """A connection for raw, pipelined commands (see the module's text)."""

    def __init__(self, pool: ConnectionPool, connection: AbstractConnection) -> None:
        self.pool = pool
        self.connection = connection
        """redis-py's connection, kept for closing it (its streams are not used)."""
        self._discarded = False
        self.broken: BaseException | None = None
        """Why the link ended, once it has (no call may use it then)."""
        self._timeout: float | None = connection.socket_timeout
        self._parser = hiredis.Reader(
            protocolError=InvalidResponse, replyError=BaseParser.parse_error, notEnoughData=_MORE
        )
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._deadlines: deque[tuple[float, float, asyncio.Future[Any]]] = deque()
        """(deadline, timeout, future) of the calls whose reply is watched for."""
        self._timer: asyncio.Handle | None = None
        self._timer_at = 0.0
        self.pushed: Callable[[list[Any] | None], None] | None = None
        """Once the link subscribed to channels: where their messages go as they arrive
        (each as the server sends it: ``[b"message", channel, payload]``), and
        ``None`` once the link has ended. Other replies go to the waiting calls."""
        transport = connection._writer.transport
        self._transport = transport
        transport.set_protocol(_Protocol(self, transport.get_protocol()))

    @staticmethod
    def possible(connection: AbstractConnection) -> bool:
        """Whether a link can take ``connection`` over (a connected redis-py
        connection with the stream writer this module knows)."""
        transport = getattr(getattr(connection, "_writer", None), "transport", None)
        return callable(getattr(transport, "set_protocol", None))

    def send(self, frame: bytes, replies: int = 1) -> list[asyncio.Future[Any]]:
        """Write ``frame`` (commands as RESP); a future for each of the ``replies``
        it gets, to pass to :meth:`reply`."""
        if self.broken is None and self._transport.is_closing():
            self.close(RedisConnectionError("the connection was closed"))  # from outside
        if self.broken is not None:
            raise RedisConnectionError(f"the link to the broker was closed: {self.broken}")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(replies)]
        self._waiting.extend(futures)
        self._transport.write(frame)
        return futures

    async def reply(self, future: asyncio.Future[Any], within: Any = _CLIENT_TIMEOUT) -> Any:
        """The reply ``future`` waits for, within ``within`` seconds (by default the
        client's socket timeout; ``None``: no limit); raised if it is an error."""
        timeout = self._timeout if within is _CLIENT_TIMEOUT else within
        if timeout is not None and not future.done():
            self._watch(future, timeout)
        value = await future
        if isinstance(value, ResponseError):
            if is_broker_down(value):
                self.close(value)
            raise value
        return value

    def _watch(self, future: asyncio.Future[Any], timeout: float) -> None:
        """End the link if ``future`` has no reply within ``timeout`` seconds. One timer
        a link, armed for the earliest deadline and moved on when it passes, not one a
        call (a timer made and cancelled per call cost more than the rest of a reply)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        deadlines = self._deadlines
        while deadlines and deadlines[0][2].done():  # answered: replies come in order
            deadlines.popleft()
        deadlines.append((deadline, timeout, future))
        if self._timer is None or self._timer_at > deadline:
            self._arm(deadline)

    def _check_deadlines(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        waiting = [entry for entry in self._deadlines if not entry[2].done()]
        self._deadlines = deque(waiting)
        for deadline, timeout, _ in waiting:
            if deadline <= now:
                self.close(RedisTimeoutError(f"no reply from the broker within {timeout:g} s"))
                return
        if waiting:
            self._arm(min(deadline for deadline, _, _ in waiting))

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        # (when it fires is kept here: a qasync loop's timer handles do not say)
        self._timer = asyncio.get_running_loop().call_at(deadline, self._check_deadlines)
        self._timer_at = deadline

    def close(self, why: BaseException) -> None:
        """End the link: waiting calls fail (with ``why`` if it is a ``TimeoutError``,
        else with ``ConnectionError``); nothing more can be sent on it."""
        if self.broken is None:
            self.broken = why
            self._transport.close()
        self._fail(why)

    async def discard(self) -> None:
        """Give the (ended) link's connection back to the pool, disconnected: the pool
        connects it again for its next user. Once: later calls do nothing."""
        if self._discarded:
            return
        self._discarded = True
        await self.connection.disconnect(nowait=True)
        await self.pool.release(self.connection)

    def _received(self, data: bytes) -> None:
        parser, waiting = self._parser, self._waiting
        parser.feed(data)
        while True:
            try:
                reply = parser.gets()
            except InvalidResponse as exc:  # not RESP: nothing after it can be trusted
                self.close(exc)
                return
            if reply is _MORE:
                return
            pushed = self.pushed
            if pushed is not None and isinstance(reply, list) and reply and reply[0] == b"message":
                pushed(reply)
                continue
            if not waiting:
                self.close(InvalidResponse("a reply nothing was waiting for"))
                return
            future = waiting.popleft()
            if not future.done():  # else given up: the reply is dropped
                future.set_result(reply)

    def _lost(self, exc: BaseException | None) -> None:
        why = exc or RedisConnectionError("the broker closed the connection")
        if self.broken is None:
            self.broken = why
        self._fail(why)

    def _fail(self, why: BaseException) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.pushed is not None:
            self.pushed(None)
        waiting = self._waiting
        if not waiting:
            return
        error = (
            why
            if isinstance(why, RedisTimeoutError)
            else RedisConnectionError(f"the link to the broker was closed: {why}")
        )
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a reply no call awaits any more logs nothing


class _Protocol(asyncio.Protocol):
    """The transport's protocol once a :class:`Link` has taken it over. The protocol it
    replaces (redis-py's stream reader's) still hears of the connection's end, so
    redis-py's own close of the connection completes."""

    def __init__(self, link: Link, former: asyncio.BaseProtocol) -> None:
        self.link = link
        self.former = former

    def data_received(self, data: bytes) -> None:
        self.link._received(data)

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._lost(exc)
        self.former.connection_lost(exc)


_shared: weakref.WeakKeyDictionary[ConnectionPool, Link] = weakref.WeakKeyDictionary()
_opening: weakref.WeakKeyDictionary[ConnectionPool, asyncio.Lock] = weakref.WeakKeyDictionary()
_spare: weakref.WeakKeyDictionary[ConnectionPool, list[Link]] = weakref.WeakKeyDictionary()


async def shared(redis: Any) -> Link | None:
    """The link the calls of ``redis`` (a client made by
    :func:`backend.connection.client`) share, opened when there is none or it ended;
    ``None`` for a cluster client, or one whose connections a link cannot take."""
    pool = _pool_of(redis)
    if pool is None:
        return None
    link = _shared.get(pool)
    if link is not None and link.broken is None:
        return link
    opening = _opening.get(pool) or _opening.setdefault(pool, asyncio.Lock())
    async with opening:  # one opens it; the calls that came meanwhile share it
        link = _shared.get(pool)
        if link is not None and link.broken is None:
            return link
        if link is not None:
            del _shared[pool]
            await link.discard()
        link = await _open(pool)
        if link is not None:
            _shared[pool] = link
        return link


@contextlib.asynccontextmanager
async def taken(redis: Any) -> AsyncIterator[Link | None]:
    """A link for one caller at a time (a blocking read), kept for the next when it is
    given back in working order; ``None`` as for :func:`shared`."""
    pool = _pool_of(redis)
    if pool is None:
        yield None
        return
    spare = _spare.get(pool)
    if spare is None:
        spare = _spare.setdefault(pool, [])
    link = spare.pop() if spare else None
    if link is not None and link.broken is not None:  # ended while kept
        await link.discard()
        link = None
    if link is None:
        link = await _open(pool)
    if link is None:
        yield None
        return
    try:
        yield link
    except BaseException as exc:
        link.close(exc)  # replies may be left unread: no one else may read them
        await link.discard()
        raise
    if link.broken is None:
        spare.append(link)
    else:
        await link.discard()


async def opened(redis: Any) -> Link | None:
    """A new link of the caller's own (a subscription's), to :meth:`Link.close` and
    :meth:`Link.discard` when done; ``None`` as for :func:`shared`."""
    pool = _pool_of(redis)
    return None if pool is None else await _open(pool)


def _pool_of(redis: Any) -> ConnectionPool | None:
    """The pool of a client of one server; ``None`` for a cluster client (it routes
    each command itself)."""
    return None if isinstance(redis, RedisCluster) else redis.connection_pool


async def _open(pool: ConnectionPool) -> Link | None:
    connection = await pool.get_connection()
    if not Link.possible(connection):
        await pool.release(connection)
        return None
    return Link(pool, connection)
