"""The one object between asyncio and Qt: Redis events become signals, intents coroutines.

:class:`Bridge` owns the connection to the broker. Its session, each time it connects:

1. subscribes to ``task_updates`` and waits for the subscription to be confirmed;
2. emits the recorded state (``TaskStore.snapshot``) batch by batch, buffering the
   live updates that arrive meanwhile;
3. emits the buffered updates, then the live updates as they come: every update
   already received is handed on in one batch (one signal, not one per update).

The snapshot is read for the cards (:func:`~distritask_gui.card_state.decode_card`:
no timelines or payloads, which the detail dialog loads when opened).

Applying is ordered by ``(attempt, seq)`` (see :mod:`backend.state`), so the overlap
between the snapshot and the buffer counts nothing twice and nothing falls in a gap.
Heartbeats are polled every ``poll_interval`` seconds. When the broker is lost the state
goes ``reconnecting``, then ``offline`` after ``offline_after`` seconds, and the bridge
reconnects with backoff and runs the session again. A pub/sub connection that
re-subscribes by itself (redis-py's retry) is treated as a reconnect, so a short
restart cannot hide a gap.

Widgets never await: they call the intent slots (:meth:`submit`, :meth:`cancel`,
:meth:`retry`, :meth:`load_task`, :meth:`test_url`), which start background tasks the
bridge keeps referenced until they finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis
from PySide6.QtCore import QObject, Signal
from redis.exceptions import RedisError

from backend import keys
from backend.connection import BROKER_DOWN, backoff, client, describe
from backend.errors import ProtocolError
from backend.policy import SubmitPolicy, retry_problem
from backend.protocol import StatusUpdate, decode_update
from backend.state import TaskState
from backend.store import TaskStore
from distritask_gui.card_state import decode_card
from distritask_gui.header import CONNECTED, CONNECTING, OFFLINE, RECONNECTING

log = logging.getLogger(__name__)

LOST = BROKER_DOWN
READ_BATCH = 5000
"""Most updates read from the subscription before they are handed on together."""
STOP_WAIT = 5.0
"""Seconds :meth:`Bridge.stop` waits for its tasks to end."""


class Resubscribed(ConnectionError):
    """The pub/sub connection came back by itself: updates may have been missed."""


class Bridge(QObject):
    connection_changed = Signal(str, str)
    """State (connected/reconnecting/offline/connecting) and the broker's address."""
    snapshot_loaded = Signal(list)
    """Recorded :class:`TaskState` objects, in batches (after each (re)connect)."""
    updates_received = Signal(list)
    """Live :class:`StatusUpdate` messages, in arrival order."""
    workers_received = Signal(list)
    """Every known :class:`WorkerInfo` (each poll)."""
    task_loaded = Signal(object)
    """A :class:`TaskState` fetched for the detail dialog."""
    message = Signal(str)
    """A short note for the status bar (results and errors of intents)."""
    test_result = Signal(bool, str)

    def __init__(
        self,
        url: str,
        parent: QObject | None = None,
        *,
        poll_interval: float = 1.0,
        offline_after: float = 2.0,
        policy: SubmitPolicy | None = None,
    ) -> None:
        super().__init__(parent)
        self.url = url
        self.policy = policy or SubmitPolicy()
        self.address = describe(url)
        self.poll_interval = poll_interval
        self.offline_after = offline_after
        self.state = CONNECTING
        self.store: TaskStore | None = None
        self._lost_at: float | None = None
        self._main: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._buffer: list[StatusUpdate] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._main is None:
            self._main = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the session and every intent still running; wait for them."""
        pending = {t for t in (self._main, *self._tasks) if t is not None}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT
        while pending and loop.time() < deadline:
            # cancelled again each round: a cancel that lands while a task's wake-up is
            # already queued can be lost under qasync, leaving the task asleep
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.1)
        self._main = None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            log.info("broker %s: %s", self.address, state)
            self.connection_changed.emit(state, self.address)

    def _lost(self, reason: str) -> None:
        self.store = None
        now = time.monotonic()
        if self._lost_at is None:
            self._lost_at = now
            log.warning("broker %s lost: %s", self.address, reason)
        if now - self._lost_at >= self.offline_after:
            self._set_state(OFFLINE)
        elif self.state == CONNECTED:
            self._set_state(RECONNECTING)

    # -- the session -------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            commands, listener = client(self.url), client(self.url, timeout=None)
            try:
                await commands.ping()
                attempt = 0
                await self._session(commands, listener)
            except LOST as exc:
                self._lost(str(exc) or type(exc).__name__)
            finally:
                self.store = None
                await asyncio.gather(commands.aclose(), listener.aclose(), return_exceptions=True)
            await asyncio.sleep(backoff(attempt, base=0.1, cap=3.0))
            attempt += 1
            self._lost("still unreachable")

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
                self._set_state(CONNECTED)
                async for batch in store.snapshot(decode=decode_card):
                    self.snapshot_loaded.emit(batch)
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

    # -- intents -----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.warning("request failed: %s", exc)
            self.message.emit(f"Request failed: {exc}")

    def _connected_store(self) -> TaskStore:
        if self.store is None:
            raise ConnectionError(f"not connected to {self.address}")
        return self.store

    def submit(self, name: str, payload: Any = None, count: int = 1) -> None:
        self._spawn(self.submit_tasks(name, payload, count))

    async def submit_tasks(
        self, name: str, payload: Any, count: int, *, max_retries: int | None = None
    ) -> list[TaskState]:
        """Queue ``count`` tasks ``name`` with ``payload``; their states."""
        store = self._connected_store()
        tasks = self.policy.tasks(name, payload, count, max_retries=max_retries)  # ValueError
        states = await store.submit(tasks)
        self.message.emit(
            f"Queued {count} \N{MULTIPLICATION SIGN} {name}"
            if count > 1
            else f"Queued #{states[0].id[:6]} {name}"
        )
        return states

    def cancel(self, task_id: str) -> None:
        self._spawn(self._cancel(task_id))

    async def _cancel(self, task_id: str) -> None:
        state = await self._connected_store().request_cancel(task_id)
        if state is None:
            self.message.emit(f"#{task_id[:6]} is not known to the broker")
        else:
            self.message.emit(f"Cancel requested for #{task_id[:6]}")
            self.task_loaded.emit(state)

    def retry(self, task_id: str) -> None:
        self._spawn(self._retry(task_id))

    async def _retry(self, task_id: str) -> None:
        store = self._connected_store()
        state = await store.get(task_id)
        if state is None:
            self.message.emit(f"#{task_id[:6]} is not known to the broker")
            return
        problem = retry_problem(f"#{task_id[:6]}", state.status)
        if problem is not None:
            self.message.emit(problem)
            return
        queued = await store.requeue(state)
        self.message.emit(f"Queued #{task_id[:6]} again (attempt {queued.attempt})")
        self.task_loaded.emit(queued)

    def load_task(self, task_id: str) -> None:
        self._spawn(self._load(task_id))

    async def _load(self, task_id: str) -> None:
        state = await self._connected_store().get(task_id)
        if state is not None:
            self.task_loaded.emit(state)

    def test_url(self, url: str) -> None:
        self._spawn(self._test(url))

    async def _test(self, url: str) -> None:
        redis = client(url)
        try:
            info = await asyncio.wait_for(redis.info("server"), timeout=5.0)
        except (RedisError, *LOST) as exc:  # a URL test reports any error
            self.test_result.emit(False, f"{describe(url)}: {exc or 'no answer within 5 s'}")
        else:
            version = info.get("valkey_version") or info.get("redis_version") or "?"
            self.test_result.emit(True, f"{describe(url)} answers (server {version})")
        finally:
            await redis.aclose()
