"""The connected clients, and the one rule for dropping one: its own unsent bytes.

Each update is written at once to every live client's connection (websockets'
:func:`~websockets.asyncio.server.broadcast`: encoded once, no task per client, no
shared queue). What a client does not read stays in its own connection's write
buffer (after the operating system's socket buffers are full), so how far a client
is behind is that buffer's size. A client more than :data:`SEND_BUFFER` bytes behind
is closed with 1013 ("try again later"; it reconnects and gets a fresh snapshot) and
one INFO line; a client that reads keeps up, however large the burst, since writing
to it never waits. Until a new client's snapshot is out, its updates are held in its
own backlog, counted against the same limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

log = logging.getLogger("backend.dashboard")

SEND_BUFFER = 1 << 20
"""Bytes a client may have unsent (beyond the OS socket buffers) before it is dropped."""
REPLAY_SECONDS = 2.0
REPLAY_SIZE = 1000
"""Updates kept for replay to a new client: the last :data:`REPLAY_SECONDS`, at most this many."""
SLOW = 1013  # "try again later"


class Client:
    """One connected page: its connection, and its backlog until its snapshot is out."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.backlog: list[str] | None = []
        self.held = 0

    @property
    def live(self) -> bool:
        return self.backlog is None

    def unsent(self) -> int:
        """Bytes waiting for this client: its backlog and its connection's write buffer."""
        transport = self.ws.transport
        return self.held + (transport.get_write_buffer_size() if transport is not None else 0)

    def hold(self, message: str) -> None:
        assert self.backlog is not None
        self.backlog.append(message)
        self.held += len(message)


class Hub:
    """The connected clients, and the updates relayed in the last few seconds."""

    def __init__(self, limit: int = SEND_BUFFER) -> None:
        self.limit = limit
        self.clients: set[Client] = set()
        self.recent: deque[tuple[float, str]] = deque(maxlen=REPLAY_SIZE)
        self.subscribed = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()

    def join(self, client: Client) -> list[str]:
        """Register ``client``; the updates relayed just before (to replay after the
        snapshot). Nothing awaits in between, so nothing falls between the two."""
        self.clients.add(client)
        horizon = time.monotonic() - REPLAY_SECONDS
        return [message for at, message in self.recent if at >= horizon]

    def start(self, client: Client, first: list[str]) -> None:
        """Send ``client`` ``first`` (snapshot and replay), then what was held for it, and
        from now on every update as it comes."""
        if client not in self.clients or client.backlog is None:
            return
        pending, client.backlog, client.held = [*first, *client.backlog], None, 0
        self.send(client, pending)

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def broadcast(self, message: str) -> None:
        """``message`` to every client, dropping those too far behind."""
        self.recent.append((time.monotonic(), message))
        targets = []
        for client in list(self.clients):
            if client.unsent() > self.limit:
                self.drop(client)
            elif client.live:
                targets.append(client.ws)
            else:
                client.hold(message)
        broadcast(targets, message)

    def send(self, client: Client, messages: list[str]) -> None:
        """``messages`` to one client (a snapshot), in order."""
        for message in messages:
            if client not in self.clients:
                return
            if client.unsent() > self.limit:
                self.drop(client)
            elif client.live:
                broadcast([client.ws], message)
            else:
                client.hold(message)

    def drop(self, client: Client) -> None:
        """Close a client that cannot keep up, without waiting for it."""
        if client not in self.clients:
            return
        self.clients.discard(client)
        log.info(
            "dropping a client at %s: %d bytes unsent, over its limit of %d; it may reconnect",
            _peer(client.ws),
            client.unsent(),
            self.limit,
        )
        task = asyncio.create_task(_close(client.ws))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _close(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed, OSError):
        await ws.close(SLOW, "too slow; reconnect")


def _peer(ws: ServerConnection) -> str:
    address = ws.remote_address
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
