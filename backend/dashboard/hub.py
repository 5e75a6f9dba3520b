"""The connected clients, and the one rule for dropping one: it stopped taking bytes.

Each update is written at once to every live client's connection (websockets'
:func:`~websockets.asyncio.server.broadcast`: encoded once, no task per client, no
shared queue). What a client does not read stays in its own connection's write
buffer (after the operating system's socket buffers are full), so how far a client
is behind is that buffer's size.

A client is closed with 1013 ("try again later"; it reconnects and gets a fresh
snapshot) and one INFO line when it is more than :data:`SEND_BUFFER` bytes behind
and has taken no byte for :data:`STALL_SECONDS`, or whatever it does once it is more
than :data:`MOST_BEHIND` bytes behind (so a client costs the process at most that).
A client that reads is not dropped for a burst, even one that outruns it for a
while: writing to it never waits, and what it has not read yet waits in its own
buffer. Until a new client's snapshot is out, its updates are held in its own
backlog, counted the same way.
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
"""Bytes a client may have unsent (beyond the OS socket buffers) without taking any."""
STALL_SECONDS = 5.0
"""How long a client over :data:`SEND_BUFFER` may take no byte before it is dropped."""
MOST_BEHIND = 16 * SEND_BUFFER
"""Bytes a client may have unsent at all, reading or not."""
REPLAY_SECONDS = 2.0
REPLAY_SIZE = 1000
"""Updates kept for replay to a new client: the last :data:`REPLAY_SECONDS`, at most this many."""
SLOW = 1013  # "try again later"


class Client:
    """One connected page: its connection, its backlog until its snapshot is out, and
    when it last took bytes."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.backlog: list[str] | None = []
        self.held = 0
        self.mark = 0
        """Its unsent bytes right after the last write to it."""
        self.moved = time.monotonic()
        """When it last took bytes, or was within its limit."""

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

    def __init__(
        self, limit: int = SEND_BUFFER, stall: float = STALL_SECONDS, most: int = MOST_BEHIND
    ) -> None:
        self.limit, self.stall, self.most = limit, stall, max(most, limit)
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
        """``message`` to every client, dropping those that stopped taking bytes."""
        self.recent.append((time.monotonic(), message))
        now, targets = time.monotonic(), []
        for client in list(self.clients):
            if self._stuck(client, now):
                self.drop(client)
            elif client.live:
                targets.append(client)
            else:
                client.hold(message)
        broadcast([client.ws for client in targets], message)
        for client in targets:
            client.mark = client.unsent()

    def send(self, client: Client, messages: list[str]) -> None:
        """``messages`` to one client (a snapshot), in order."""
        now = time.monotonic()
        for message in messages:
            if client not in self.clients:
                return
            if self._stuck(client, now):
                self.drop(client)
            elif client.live:
                broadcast([client.ws], message)
                client.mark = client.unsent()
            else:
                client.hold(message)

    async def watch(self) -> None:
        """Drop the clients that stopped taking bytes while nothing is relayed (the
        end of a burst), until cancelled."""
        while True:
            await asyncio.sleep(self.stall / 2)
            now = time.monotonic()
            for client in list(self.clients):
                if self._stuck(client, now):
                    self.drop(client)

    def _stuck(self, client: Client, now: float) -> bool:
        """Whether ``client`` is to be dropped: over :attr:`most` bytes behind, or over
        :attr:`limit` with no byte taken for :attr:`stall` seconds."""
        unsent = client.unsent()
        if unsent < client.mark or unsent <= self.limit:
            client.moved = now
        client.mark = unsent
        return unsent > self.most or now - client.moved > self.stall

    def drop(self, client: Client) -> None:
        """Close a client that cannot keep up, without waiting for it."""
        if client not in self.clients:
            return
        self.clients.discard(client)
        log.info(
            "dropping a client at %s: %d bytes unsent, the last taken %.1f s ago; it may reconnect",
            _peer(client.ws),
            client.unsent(),
            time.monotonic() - client.moved,
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
