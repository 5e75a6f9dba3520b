"""``distritask dashboard``: live status over WebSocket, as the original Go bridge.

Listens on ``HOST:PORT`` (default 127.0.0.1:8081), path ``/ws``. Every message on
``task_updates`` is forwarded verbatim, as a text frame, to every client.

Who may connect (:mod:`backend.access`): a browser page only from ``ALLOWED_ORIGIN``
(default http://localhost:3000, the original page; others get 403), and a client
without an ``Origin`` header (a script). When ``DISTRITASK_API_TOKEN`` is set the
client must present it, as ``/ws?token=<TOKEN>`` or as the subprotocol
``token.<TOKEN>`` (``new WebSocket(url, ["token." + token])``; the server answers
with that subprotocol); without it the handshake gets 401.

What a client receives, in this order:

1. the snapshot: the current state of the newest :data:`SNAPSHOT_SIZE` tasks, oldest
   first, each as a status update (``{"id","status","time","worker","message",…}``,
   the shape the original page reads);
2. the updates this process relayed in the :data:`REPLAY_SECONDS` before the client
   connected, in arrival order (they cover an update published just before its
   state was written, so the snapshot cannot miss it);
3. every update relayed from then on, in arrival order.

The client is registered (its updates held for it) *before* the snapshot is read,
and the process is subscribed before it accepts clients, so there is no gap: at
worst a duplicate, and the last message about a task is always its latest state.
Clients that order by ``(attempt, seq)`` (ours) drop the duplicates.

A client more than :data:`~backend.dashboard.hub.SEND_BUFFER` bytes behind (its own
unsent bytes, :mod:`.hub`) that takes no byte for
:data:`~backend.dashboard.hub.STALL_SECONDS`, or more than
:data:`~backend.dashboard.hub.MOST_BEHIND` behind at all, is closed with code 1013
and one INFO line rather than slowing the others; clients that read are not dropped
for a burst. When the broker
goes away the bridge says so once, reconnects with backoff, and sends every client a
fresh snapshot. Implemented on the ``websockets`` asyncio server: one purpose, no
HTTP framework needed, and a connection dropped during its opening handshake is
closed quietly. The HTTP side of the handshake (origin, token) is :mod:`.gate`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from backend import connection, live, loops
from backend.access import Access
from backend.config import Settings
from backend.dashboard.gate import PATH, Gate, select_subprotocol
from backend.dashboard.hub import REPLAY_SECONDS, SEND_BUFFER, Client, Hub
from backend.protocol import StatusUpdate, encode_update
from backend.recorder import Recorder
from backend.setting_flags import add_setting_flags
from backend.state import TaskState
from backend.store import TaskStore

log = logging.getLogger(__name__)

__all__ = ["PATH", "REPLAY_SECONDS", "SEND_BUFFER", "Hub", "serve_dashboard"]

DEFAULT_PORT = 8081
SNAPSHOT_SIZE = 200
"""Tasks whose state a client receives on connect (the original page shows 12)."""


async def snapshot(store: TaskStore, size: int = SNAPSHOT_SIZE) -> list[str]:
    """The newest ``size`` tasks' states, oldest first, as status update JSON."""
    ids = await store.newest_ids(size)
    states = await store.get_many(ids[::-1])
    return [encode_update(as_update(state)) for state in states]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def as_update(state: TaskState) -> StatusUpdate:
    """A task's state in the shape of the status update that would lead to it."""
    return StatusUpdate(
        id=state.id,
        status=state.status,
        time=state.time,
        worker=state.worker,
        message=state.message,
        progress=state.progress,
        ts=state.updated,
        attempt=state.attempt,
        seq=state.seq,
        name=state.name,
        error=state.error,
    )


async def resync(store: TaskStore, hub: Hub) -> None:
    """After an outage (updates may be lost): a fresh snapshot to every client."""
    fresh = await snapshot(store)
    log.info("resyncing %d client(s) with %d task states", len(hub.clients), len(fresh))
    for client in list(hub.clients):
        hub.send(client, fresh)


async def relay(listener: aioredis.Redis, store: TaskStore, hub: Hub) -> None:
    """Forward every update to every client until cancelled; survive broker restarts
    (say so once, retry with backoff, then send every client a fresh snapshot).
    Updates no writer of ours recorded (a Go service's) are recorded on the way
    (:mod:`backend.recorder`), so late joiners see those tasks too."""
    recorder = Recorder(store)

    async def sync(after_outage: bool) -> None:
        if after_outage:
            await resync(store, hub)
        hub.subscribed.set()

    def forward(raw: bytes) -> None:
        hub.broadcast(_text(raw))
        recorder.offer_raw(raw)

    async with asyncio.TaskGroup() as group:
        group.create_task(recorder.run(), name="recorder")
        await live.follow(listener, forward, sync, log)


async def handle(ws: ServerConnection, store: TaskStore, hub: Hub) -> None:
    client = Client(ws)
    replay = hub.join(client)
    try:
        try:
            first = await snapshot(store)
        except connection.BROKER_DOWN as exc:
            log.warning("no snapshot for a new client: broker unavailable (%s)", exc)
            first = []
        hub.start(client, first + replay)
        with contextlib.suppress(ConnectionClosed):  # dropped, or gone: said elsewhere
            async for _ in ws:  # the page sends nothing; read to notice it closing
                pass
    finally:
        hub.leave(client)


async def serve_dashboard(
    settings: Settings, redis_url: str, stop: asyncio.Event, hub: Hub | None = None
) -> None:
    """Serve until ``stop`` is set (``hub``: to look at the clients from outside)."""
    redis = connection.client(redis_url, cluster=settings.cluster)
    listener = connection.client(redis_url, timeout=None, cluster=settings.cluster)
    store = TaskStore.from_settings(redis, settings)
    hub = hub or Hub()
    relaying = asyncio.create_task(relay(listener, store, hub), name="relay")
    watching = asyncio.create_task(hub.watch(), name="watch")
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await hub.subscribed.wait()
        port = settings.port or DEFAULT_PORT
        async with serve(
            lambda ws: handle(ws, store, hub),
            settings.host,
            port,
            process_request=Gate(Access(settings.allowed_origin, settings.api_token)),
            select_subprotocol=select_subprotocol,
            close_timeout=2.0,
        ):
            log.info("dashboard on ws://%s:%d%s", settings.host, port, PATH)
            await stop.wait()
    finally:
        for task in (relaying, watching):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await listener.aclose()
        await redis.aclose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_flags(parser, "host", "port", "allowed_origin", "data_dir", "broker_port")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    from backend.broker import use_broker

    async def main(url: str) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve_dashboard(settings, url, stop)

    with use_broker(settings) as broker:
        try:
            loops.run(main(broker.url))
        except OSError as exc:
            print(f"distritask dashboard: cannot listen: {exc}", file=sys.stderr)
            return 1
    return 0
