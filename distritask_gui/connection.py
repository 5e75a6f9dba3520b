"""The panel's connection to the broker: its state machine, the snapshot and live updates.

:class:`BrokerConnection` runs one session each time it connects:

1. subscribes to ``task_updates`` and waits for the subscription to be confirmed;
2. emits the recorded state (``TaskStore.snapshot``) batch by batch, buffering the
   live updates that arrive meanwhile, then ``snapshot_done``;
3. emits the buffered updates, then the live updates as they come: every update
   already received is handed on in one batch (one signal, not one per update).

The snapshot is read for the cards (:func:`~distritask_gui.card_state.decode_card`:
no timelines or payloads, which the detail dialog loads when opened).

Applying is ordered by ``(attempt, seq)`` (see :mod:`backend.state`), so the overlap
between the snapshot and the buffer counts nothing twice and nothing falls in a gap.
Heartbeats are polled every ``poll_interval`` seconds.

States (:class:`ConnectionState`): ``connecting`` until the first session, then
``connected``. When the broker is lost (:data:`backend.connection.BROKER_DOWN`) the
state goes ``reconnecting``, then ``offline`` after ``offline_after`` seconds, with the
:class:`Cause` (refused, auth, timeout, TLS, lost); the connection retries with backoff
(or at once on :meth:`BrokerConnection.retry_now`). Anything else (a ``ResponseError``
from a bug, a ``TypeError``) is a programming error: it is logged with its traceback,
the state goes ``failed`` and nothing is retried until the user asks. A pub/sub
connection that re-subscribes by itself (redis-py's retry) is treated as a reconnect,
so a short restart cannot hide a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from PySide6.QtCore import QObject, Signal

from backend import keys
from backend.connection import BROKER_DOWN, backoff, client, describe
from backend.errors import ProtocolError
from backend.protocol import StatusUpdate, decode_update
from backend.store import TaskStore
from distritask_gui.card_state import decode_card
from distritask_gui.cause import Cause, cause_of

log = logging.getLogger(__name__)

READ_BATCH = 5000
"""Most updates read from the subscription before they are handed on together."""
STOP_WAIT = 5.0
"""Seconds :meth:`BrokerConnection.stop` waits for its tasks to end."""


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    FAILED = "failed"
    """A programming error ended the session; not retried until asked."""


class Resubscribed(ConnectionError):
    """The pub/sub connection came back by itself: updates may have been missed."""


class BrokerConnection(QObject):
    connection_changed = Signal(object, str)
    """The :class:`ConnectionState` and the broker's address (see :attr:`cause`)."""
    snapshot_loaded = Signal(list)
    """Recorded :class:`TaskState` objects, in batches (after each (re)connect)."""
    snapshot_done = Signal()
    """The whole snapshot was emitted (a good moment to settle memory)."""
    updates_received = Signal(list)
    """Live :class:`StatusUpdate` messages, in arrival order."""
    workers_received = Signal(list)
    """Every known :class:`WorkerInfo` (each poll)."""

    def __init__(
        self,
        url: str,
        parent: QObject | None = None,
        *,
        poll_interval: float = 1.0,
        offline_after: float = 2.0,
    ) -> None:
        super().__init__(parent)
        self.url = url
        self.address = describe(url)
        self.poll_interval = poll_interval
        self.offline_after = offline_after
        self.state = ConnectionState.CONNECTING
        self.cause = Cause.NONE
        self.detail = ""
        """The last error's text, for people."""
        self.store: TaskStore | None = None
        self._lost_at: float | None = None
        self._main: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._buffer: list[StatusUpdate] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._main is None or self._main.done():
            self._main = asyncio.get_running_loop().create_task(self._run())

    def retry_now(self) -> None:
        """Try to connect at once (after a failure, or during the backoff)."""
        if self._main is None or self._main.done():
            self._set_state(ConnectionState.CONNECTING)
            self.start()
        else:
            self._wake.set()

    async def stop(self) -> None:
        """Cancel the session; wait for it."""
        if self._main is not None:
            await cancel_all({self._main})
        self._main = None

    def _set_state(self, state: ConnectionState) -> None:
        if state != self.state:
            self.state = state
            log.info("broker %s: %s", self.address, state.value)
        # emitted on every call: the cause may change while the state does not
        self.connection_changed.emit(state, self.address)

    def _lost(self, exc: BaseException | None) -> None:
        self.store = None
        now = time.monotonic()
        if exc is not None:
            self.cause, self.detail = cause_of(exc), str(exc) or type(exc).__name__
        if self._lost_at is None:
            self._lost_at = now
            log.warning("broker %s lost: %s", self.address, self.detail)
        if now - self._lost_at >= self.offline_after or self.state is ConnectionState.OFFLINE:
            self._set_state(ConnectionState.OFFLINE)
        elif self.state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.RECONNECTING)

    # -- the session -------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            commands, listener = client(self.url), client(self.url, timeout=None)
            failure: Exception | None = None
            try:
                await commands.ping()
                attempt = 0
                await self._session(commands, listener)
            except BROKER_DOWN as exc:
                self._lost(exc)
            except Exception as exc:
                failure = exc
            finally:
                self.store = None
                await asyncio.gather(commands.aclose(), listener.aclose(), return_exceptions=True)
            if failure is not None:
                # set once the session is over, so "Retry now" can start a new one
                log.error("broker %s: the panel's session failed", self.address, exc_info=failure)
                self.cause, self.detail = Cause.ERROR, f"{type(failure).__name__}: {failure}"
                self._set_state(ConnectionState.FAILED)
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff(attempt, base=0.1, cap=3.0))
            attempt += 1
            self._lost(None)

    async def _session(self, commands: aioredis.Redis, listener: aioredis.Redis) -> None:
        store = TaskStore(commands)
        pubsub = listener.pubsub()
        try:
            await pubsub.subscribe(keys.UPDATES_CHANNEL)
            await self._confirmed(pubsub)
            self._buffer = []
            reader = asyncio.ensure_future(self._read(pubsub))
            try:
                await store.ensure_group()
                self.store = store
                self._lost_at = None
                self.cause, self.detail = Cause.NONE, ""
                self._set_state(ConnectionState.CONNECTED)
                async for batch in store.snapshot(decode=decode_card):
                    self.snapshot_loaded.emit(batch)
                self.snapshot_done.emit()
                buffered, self._buffer = self._buffer, None
                if buffered:
                    self.updates_received.emit(buffered)
                poller = asyncio.ensure_future(self._poll(store))
                try:
                    done, _ = await asyncio.wait(
                        {reader, poller}, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()
                finally:
                    poller.cancel()
                    await asyncio.gather(poller, return_exceptions=True)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        finally:
            self._buffer = None
            await asyncio.gather(pubsub.aclose(), return_exceptions=True)

    @staticmethod
    async def _confirmed(pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(timeout=5.0)
            if message is None:
                raise ConnectionError("no subscription confirmation")
            if message.get("type") == "subscribe":
                return

    async def _read(self, pubsub: Any) -> None:
        # A read returns without yielding to the loop while messages are already
        # received, so the hand-off queued with the first one runs once they are all
        # read: one signal per batch, not one per update.
        loop = asyncio.get_running_loop()
        received: list[bytes] = []
        while pubsub.subscribed:
            message = await pubsub.get_message(timeout=None)
            kind = None if message is None else message.get("type")
            if kind == "subscribe":
                raise Resubscribed("the subscription was re-made")
            if kind != "message":
                continue
            if not received:
                loop.call_soon(self._hand_on, received)
            received.append(message["data"])
            if len(received) >= READ_BATCH:
                await asyncio.sleep(0)
        raise ConnectionError("the update stream ended")

    def _hand_on(self, received: list[bytes]) -> None:
        """Decode and emit (or buffer, while the snapshot loads) what was received."""
        updates = []
        for raw in received:
            try:
                updates.append(decode_update(raw))
            except ProtocolError as exc:
                log.warning("ignoring a status update: %s", exc)
        received.clear()
        if not updates:
            return
        if self._buffer is not None:
            self._buffer.extend(updates)
        else:
            self.updates_received.emit(updates)

    async def _poll(self, store: TaskStore) -> None:
        while True:
            self.workers_received.emit(await store.workers())
            await asyncio.sleep(self.poll_interval)


async def cancel_all(tasks: set[asyncio.Task[Any]], within: float = STOP_WAIT) -> None:
    """Cancel ``tasks`` and wait (up to ``within`` s) for them to end."""
    pending = set(tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending and loop.time() < deadline:
        # cancelled again each round: a cancel that lands while a task's wake-up is
        # already queued can be lost under qasync, leaving the task asleep
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
