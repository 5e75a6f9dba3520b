"""The panel's connection to the broker: its state machine, the snapshot and live updates.

:class:`BrokerConnection` runs one session each time it connects:

1. subscribes to ``task_updates`` and to the notices of deleted tasks
   (``distritask:forgotten``) and waits for both subscriptions to be confirmed;
2. emits what the board shows (:meth:`TaskStore.board <backend.store.TaskStore.board>`:
   each column's top cards and the running tasks, never every retained state) as
   ``snapshot_loaded``, then the broker's counts of every retained task
   (``counts_received``), buffering the live updates and notices that arrive
   meanwhile, then ``snapshot_done``;
3. emits the buffered updates and deleted ids, then the live ones as they come
   (:class:`~distritask_gui.live_feed.LiveFeed` reads both subscriptions): every
   update already received is handed on in one batch (one signal, not one per update),
   the ids of each :class:`~backend.protocol.Forgotten` notice as ``forgotten``.

The snapshot is read for the cards (:func:`~distritask_gui.card_state.decode_card`:
no timelines or payloads, which the detail dialog loads when opened). Each poll
reads the counts again, with the oldest waiting tasks (``refreshed``: the Queue
column's top refills as its tasks start); the first poll after tasks were deleted
reads the board's cards again instead (``refreshed``: a column whose shown cards were
deleted shows the next ones), deletions heard meanwhile emitted after it.

Applying is ordered by ``(attempt, seq)`` (see :mod:`backend.state`), so the overlap
between the snapshot and the buffer counts nothing twice and nothing falls in a gap.
Heartbeats and the group's reading consumers are polled every ``poll_interval`` seconds.

Sessions run under the project's one loop helper (:func:`backend.outage.keep_running`,
with its one definition of "broker down", :func:`backend.connection.is_broker_down`),
and listen through the gateway's confirmed :class:`~backend.store.Subscription`.

States (:class:`ConnectionState`): ``connecting`` until the first session, then
``connected``. When the broker is lost the state goes ``reconnecting``, then
``offline`` after ``offline_after`` seconds, with the :class:`Cause` (refused, auth,
timeout, TLS, lost); the helper retries with backoff (or at once on
:meth:`BrokerConnection.retry_now`). Anything else (a ``ResponseError`` from a bug, a
``TypeError``) is a programming error: it is logged with its traceback, the state
goes ``failed`` and nothing is retried until the user asks. A subscription that
redis-py re-made by itself is treated as a reconnect
(:class:`~distritask_gui.live_feed.Resubscribed`), so a short restart cannot hide a gap.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time

from PySide6.QtCore import QObject, Signal

from backend import keys
from backend.broker_url import describe
from backend.causes import Cause, cause_of
from backend.cluster_probe import probe
from backend.config import Settings, load_settings
from backend.connection import client
from backend.outage import Outage, keep_running
from backend.recorder import Recorder
from backend.store import TaskStore
from distritask_gui.cancelling import cancel_all
from distritask_gui.card_state import decode_card
from distritask_gui.live_feed import LiveFeed

log = logging.getLogger(__name__)


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    FAILED = "failed"
    """A programming error ended the session; not retried until asked."""


class _Watch(Outage):
    """The shared outage helper, also telling the connection's state machine."""

    def __init__(self, connection: BrokerConnection) -> None:
        super().__init__(connection.address, log, base=0.1, cap=3.0)
        self.connection = connection
        connection._watch = self

    async def failed(self, exc: BaseException) -> None:
        self.connection._lost(exc)
        await super().failed(exc)


class BrokerConnection(QObject):
    connection_changed = Signal(object, str)
    """The :class:`ConnectionState` and the broker's address (see :attr:`cause`)."""
    snapshot_loaded = Signal(list)
    """Recorded :class:`TaskState` objects, in batches (after each (re)connect)."""
    snapshot_done = Signal()
    """The whole snapshot was emitted (a good moment to settle memory)."""
    counts_received = Signal(object)
    """The broker's :class:`~backend.store.BoardCounts` (after the snapshot; each poll)."""
    refreshed = Signal(list)
    """Each poll: the oldest waiting tasks' states, or after deletions the board's cards
    (emitted before ``counts_received``)."""
    updates_received = Signal(list)
    """Live :class:`StatusUpdate` messages, in arrival order."""
    forgotten = Signal(list)
    """Ids of tasks a user deleted (here or anywhere): their states are gone."""
    workers_received = Signal(list)
    """Every known :class:`WorkerInfo` (each poll)."""
    consumers_received = Signal(int)
    """How many of the group's consumers are reading (XINFO CONSUMERS; each poll): who
    takes tasks, Go workers (the consumer ``dispatcher``) included."""
    queues_received = Signal(list)
    """Every named queue's figures (:class:`~backend.store.QueueInfo`), each poll."""

    def __init__(
        self,
        url: str,
        parent: QObject | None = None,
        *,
        poll_interval: float = 1.0,
        offline_after: float = 2.0,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(parent)
        self.url = url
        self.settings = settings or load_settings()
        """The store's settings (cluster mode, retention, replicas a submit waits for)."""
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
        self._watch: _Watch | None = None
        self._feed = LiveFeed(self.updates_received.emit, self.forgotten.emit)
        """The live updates and deletion notices (its ``deletions``: the next poll reads
        the board's cards again)."""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._main is None or self._main.done():
            self._main = asyncio.get_running_loop().create_task(self._run())

    def retry_now(self) -> None:
        """Try to connect at once (after a failure, or instead of waiting a backoff)."""
        if self.state is ConnectionState.CONNECTED:
            return
        if self._main is not None and not self._main.done():
            old = self._main
            old.cancel()
            self._main = asyncio.get_running_loop().create_task(self._run(after=old))
        else:
            self._set_state(ConnectionState.CONNECTING)
            self.start()

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
            self._lost_at = now  # (the outage helper logs it, once)
        if now - self._lost_at >= self.offline_after or self.state is ConnectionState.OFFLINE:
            self._set_state(ConnectionState.OFFLINE)
        elif self.state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.RECONNECTING)

    # -- the session -------------------------------------------------------------------

    async def _run(self, after: asyncio.Task[None] | None = None) -> None:
        if after is not None:
            await asyncio.gather(after, return_exceptions=True)
        try:
            await keep_running(self._session, _Watch(self), name="the panel's broker connection")
        except Exception as exc:  # a bug (keep_running logged it): not retried
            self.store = None
            self.cause, self.detail = Cause.ERROR, f"{type(exc).__name__}: {exc}"
            self._set_state(ConnectionState.FAILED)

    async def _session(self) -> None:
        """One session: connect, subscribe, snapshot, then live updates until the
        connection is lost (which raises)."""
        cluster = await probe(self.url, self.settings.cluster)  # never blocks the window
        commands = client(self.url, cluster=cluster)
        listener = client(self.url, timeout=None, cluster=cluster)
        store = TaskStore.from_settings(commands, self.settings, listener=listener)
        feed = self._feed
        feed.recorder = Recorder(store)
        try:
            await store.ping()
            async with (
                await store.subscribe(keys.UPDATES_CHANNEL) as subscription,
                await store.subscribe(keys.FORGOTTEN_CHANNEL) as notices,
            ):
                feed.hold()
                readers: set[asyncio.Future[None]] = {
                    asyncio.ensure_future(feed.read(subscription)),
                    asyncio.ensure_future(feed.read_forgotten(notices)),
                }
                try:
                    await self._serve(store, readers)
                finally:
                    for reader in readers:
                        reader.cancel()
                    await asyncio.gather(*readers, return_exceptions=True)
        finally:
            self.store = None
            feed.end()
            await asyncio.gather(commands.aclose(), listener.aclose(), return_exceptions=True)

    async def _serve(self, store: TaskStore, readers: set[asyncio.Future[None]]) -> None:
        await store.ensure_group()
        self.store = store
        self._lost_at = None
        self.cause, self.detail = Cause.NONE, ""
        self._set_state(ConnectionState.CONNECTED)
        self._watch_ok()
        board = await store.board(decode=decode_card)
        self.snapshot_loaded.emit(board.states)
        self.counts_received.emit(board.counts)
        self.snapshot_done.emit()
        self._feed.release()
        poller = asyncio.ensure_future(self._poll(store))
        recorder = self._feed.recorder
        recording = asyncio.ensure_future(recorder.run()) if recorder else None
        helpers = {poller} if recording is None else {poller, recording}
        try:
            done, _ = await asyncio.wait({*readers, *helpers}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    def _watch_ok(self) -> None:
        """Connected: the outage (if any) is over."""
        watch = self._watch
        if watch is not None:
            watch.ok()

    async def _poll(self, store: TaskStore) -> None:
        while True:
            self.workers_received.emit(await store.workers())
            consumers = await store.consumers()
            self.consumers_received.emit(sum(1 for c in consumers if c["reading"]))
            self.queues_received.emit(await store.queue_infos())
            if self._feed.deletions:
                await self._refill_board(store)
            else:
                board = await store.board_counts(decode=decode_card)
                self.refreshed.emit(board.states)
                self.counts_received.emit(board.counts)
            await asyncio.sleep(self.poll_interval)

    async def _refill_board(self, store: TaskStore) -> None:
        """Read the board's cards and counts again (after deletions), the deletions
        heard while reading emitted after them (so none of those comes back)."""
        feed = self._feed
        feed.deletions = False
        feed.hold(updates=False)
        try:
            board = await store.board(decode=decode_card)
            self.refreshed.emit(board.states)
            self.counts_received.emit(board.counts)
        finally:
            feed.release()
