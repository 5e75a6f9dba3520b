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

The client is registered (its live queue started) *before* the snapshot is read, and
the process is subscribed before it accepts clients, so there is no gap: at worst a
duplicate, and the last message about a task is always its latest state. Clients
that order by ``(attempt, seq)`` (ours) drop the duplicates.

A client whose send queue fills up (:data:`SEND_QUEUE` messages behind) is closed
with code 1013 rather than slowing the others. When the broker goes away the bridge
says so once, reconnects with backoff, and sends every client a fresh snapshot.
Implemented on the ``websockets`` asyncio server: one purpose, no HTTP framework
needed, and a connection dropped during its opening handshake is closed quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from backend import connection, live
from backend.access import Access
from backend.config import Settings, add_setting_flags
from backend.protocol import StatusUpdate, encode_update
from backend.recorder import Recorder
from backend.state import TaskState
from backend.store import TaskStore

log = logging.getLogger(__name__)

DEFAULT_PORT = 8081
PATH = "/ws"
SNAPSHOT_SIZE = 200
"""Tasks whose state a client receives on connect (the original page shows 12)."""
REPLAY_SECONDS = 2.0
SEND_QUEUE = 1000
"""Messages a client may fall behind before it is dropped."""
SLOW = 1013  # "try again later"
TOKEN_PROTOCOL = "token."
"""Prefix of the subprotocol that carries the token (``token.<TOKEN>``)."""


class Client:
    """One connected page: a bounded queue of messages and the task sending them."""

    def __init__(self, ws: ServerConnection, queue_size: int = SEND_QUEUE) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(queue_size)

    async def pump(self, first: list[str]) -> None:
        """Send ``first``, then whatever is queued, until the connection closes."""
        with contextlib.suppress(ConnectionClosed):
            for message in first:
                await self.ws.send(message)
            while True:
                await self.ws.send(await self.queue.get())


class Hub:
    """The connected clients, and the updates relayed in the last few seconds."""

    def __init__(self, queue_size: int = SEND_QUEUE) -> None:
        self.queue_size = queue_size
        self.clients: set[Client] = set()
        self.recent: deque[tuple[float, str]] = deque(maxlen=SEND_QUEUE)
        self.subscribed = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()

    def join(self, client: Client) -> list[str]:
        """Register ``client``; the updates relayed just before (to replay after the
        snapshot). Nothing awaits in between, so nothing falls between the two."""
        self.clients.add(client)
        horizon = time.monotonic() - REPLAY_SECONDS
        return [message for at, message in self.recent if at >= horizon]

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def broadcast(self, message: str) -> None:
        self.recent.append((time.monotonic(), message))
        for client in list(self.clients):
            self.offer(client, message)

    def offer(self, client: Client, message: str) -> None:
        try:
            client.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.drop(client)

    def drop(self, client: Client) -> None:
        """Close a client that cannot keep up, without waiting for it."""
        if client not in self.clients:
            return
        self.clients.discard(client)
        log.warning("dropping a client %s behind: too slow", client.queue.qsize())
        task = asyncio.create_task(client.ws.close(SLOW, "too slow; reconnect"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


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
        for message in fresh:
            hub.offer(client, message)


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


class Gate:
    """The HTTP side of the handshake: ``/health``, 404 elsewhere, and on ``/ws`` the
    origin and token checks (403, 401) before the WebSocket is accepted."""

    def __init__(self, access: Access) -> None:
        self.access = access

    def __call__(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/health":
            return ws.respond(http.HTTPStatus.OK, "ok\n")
        if url.path != PATH:
            return ws.respond(http.HTTPStatus.NOT_FOUND, f"not found; the WebSocket is at {PATH}\n")
        origin = request.headers.get("Origin")
        if not self.access.origin_allowed(origin):
            assert origin is not None
            log.info("refused a WebSocket from another web page: origin %r", origin)
            return ws.respond(http.HTTPStatus.FORBIDDEN, self.access.origin_refused(origin) + "\n")
        given = parse_qs(url.query).get("token", [None])[0] or _offered_token(request)
        if not self.access.token_matches(given):
            log.info("refused a WebSocket: %s token", "wrong" if given else "missing")
            return ws.respond(
                http.HTTPStatus.UNAUTHORIZED,
                f"{'wrong' if given else 'missing'} token: connect to {PATH}?token=<TOKEN> or "
                f"offer the subprotocol {TOKEN_PROTOCOL}<TOKEN> (DISTRITASK_API_TOKEN)\n",
            )
        return None


def _offered(request: Request) -> list[str]:
    """The subprotocols a client offers."""
    offered = request.headers.get_all("Sec-WebSocket-Protocol")
    return [part.strip() for value in offered for part in value.split(",") if part.strip()]


def _offered_token(request: Request) -> str | None:
    for protocol in _offered(request):
        if protocol.startswith(TOKEN_PROTOCOL):
            return protocol.removeprefix(TOKEN_PROTOCOL)
    return None


def _select_subprotocol(ws: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Answer with the token subprotocol when the client offered one (a browser fails
    a handshake whose answer names none of the subprotocols it offered)."""
    return next((p for p in offered if p.startswith(TOKEN_PROTOCOL)), None)


async def handle(ws: ServerConnection, store: TaskStore, hub: Hub) -> None:
    client = Client(ws, hub.queue_size)
    replay = hub.join(client)
    try:
        try:
            first = await snapshot(store)
        except connection.BROKER_DOWN as exc:
            log.warning("no snapshot for a new client: broker unavailable (%s)", exc)
            first = []
        sender = asyncio.create_task(client.pump(first + replay))
        try:
            async for _ in ws:  # the page sends nothing; read to notice it closing
                pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    finally:
        hub.leave(client)


async def serve_dashboard(
    settings: Settings, redis_url: str, stop: asyncio.Event, hub: Hub | None = None
) -> None:
    """Serve until ``stop`` is set (``hub``: to look at the clients from outside)."""
    redis = connection.client(redis_url)
    listener = connection.client(redis_url, timeout=None)
    store = TaskStore(redis, retention=settings.retention)
    hub = hub or Hub()
    relaying = asyncio.create_task(relay(listener, store, hub), name="relay")
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
            select_subprotocol=_select_subprotocol,
            close_timeout=2.0,
        ):
            log.info("dashboard on ws://%s:%d%s", settings.host, port, PATH)
            await stop.wait()
    finally:
        relaying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relaying
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
            asyncio.run(main(broker.url))
        except OSError as exc:
            print(f"distritask dashboard: cannot listen: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    from backend.cli import main

    sys.exit(main(["dashboard", *sys.argv[1:]]))
