"""A local Valkey Cluster from the embedded server's binary: ``distritask broker --cluster N``.

For trying cluster mode on one machine. ``N`` primaries (and ``--replicas R`` replicas
of each) run on loopback, each in its own directory under the data directory
(``node-0``, ``node-1``…) with its own append-only file and ``nodes.conf``. On the
first start the 16384 slots are split evenly over the primaries (``CLUSTER
ADDSLOTSRANGE``), the nodes are introduced to each other (``CLUSTER MEET``) and each
replica follows its primary (``CLUSTER REPLICATE``); later starts reuse the ports and
the cluster configuration kept in the data directory. Every node requires the data
directory's password (:func:`backend.valkey_server.password_for`), replicas included
(``masterauth``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
from functools import partial
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from backend.errors import BrokerError
from backend.valkey_server import HOST, PERSISTENCE, launch, password_for, private_dir, url_for
from backend.waiting import wait_until

log = logging.getLogger(__name__)

SLOTS = 16384
STATE_FILE = "cluster.json"
READY_WITHIN = 30.0
"""Seconds the nodes get to agree that the cluster is ok."""
NODE_TIMEOUT_MS = 5000
"""``cluster-node-timeout``: how long a silent primary takes to be failed over."""


def free_run(nodes: int) -> int:
    """A first port with ``nodes`` free loopback ports from it, and their cluster-bus
    ports (+10000) free too; away from 16379 up, where embedded servers start (for a
    cluster started on its own: tests, the bench)."""
    for _ in range(100):
        first = random.randrange(20_000, 30_000)
        wanted = [first + i for i in range(nodes)] + [first + 10_000 + i for i in range(nodes)]
        if all(_bindable(port) for port in wanted):
            return first
    raise BrokerError(f"no run of {nodes} free loopback ports (and their bus ports)")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """The slots split into ``primaries`` contiguous ranges of (nearly) equal size."""
    bounds = [SLOTS * i // primaries for i in range(primaries + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(primaries)]


class EmbeddedCluster:
    """Start, and stop, a local cluster of ``primaries * (1 + replicas)`` nodes."""

    def __init__(
        self, data_dir: Path, primaries: int = 3, replicas: int = 0, port: int | None = None
    ) -> None:
        if primaries < 1 or replicas < 0:
            raise BrokerError("a cluster needs at least one primary and no negative replicas")
        self.data_dir = Path(data_dir).resolve()
        self.primaries, self.replicas, self.first_port = primaries, replicas, port
        self.password: str | None = None
        self.servers: list[Any] = []

    @property
    def size(self) -> int:
        return self.primaries * (1 + self.replicas)

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    @property
    def url(self) -> str:
        """The URL of the first node; a cluster client finds the others from it."""
        if not self.servers:
            raise BrokerError("the cluster has not been started")
        return url_for(self.servers[0].port, self.password)

    def start(self) -> str:
        """Start every node, form the cluster if it is new, wait until it is ok; the URL."""
        self.data_dir = private_dir(self.data_dir)
        self.password = password_for(self.data_dir)
        ports = self._saved_ports()
        try:
            for index in range(self.size):
                self.servers.append(self._launch(index, ports[index] if ports else None))
            (self.data_dir / STATE_FILE).write_text(json.dumps({"ports": self.ports}))
            asyncio.run(self._set_up())
        except TimeoutError as exc:
            self.stop()
            raise BrokerError(f"the local cluster did not form: {exc}") from None
        except BaseException:
            self.stop()
            raise
        log.info("cluster of %d node(s) ready on ports %s", self.size, self.ports)
        return self.url

    def stop(self) -> None:
        servers, self.servers = self.servers, []
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop(timeout=5.0)

    def exited(self) -> list[int]:
        """The ports of the nodes whose process has exited."""
        return [s.port for s in self.servers if s._process is None or s._process.poll() is not None]

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- setting up ----------------------------------------------------------------------

    def _saved_ports(self) -> list[int] | None:
        try:
            ports = [int(p) for p in json.loads((self.data_dir / STATE_FILE).read_text())["ports"]]
        except (OSError, ValueError, KeyError, TypeError):
            ports = []
        if len(ports) == self.size:
            return ports
        if self.first_port is not None:
            return [self.first_port + i for i in range(self.size)]
        return None

    def _launch(self, index: int, port: int | None) -> Any:
        node_dir = private_dir(self.data_dir / f"node-{index}")
        return launch(
            node_dir,
            port,
            self.password,
            masterauth=self.password,
            **PERSISTENCE,
            **{
                "cluster-enabled": "yes",
                "cluster-config-file": "nodes.conf",
                "cluster-node-timeout": NODE_TIMEOUT_MS,
                # A replica's first sync starts at once: the default makes a primary
                # wait 5 s for more replicas to share one diskless transfer, and a
                # local cluster has one replica per primary at most as it starts.
                "repl-diskless-sync-delay": 0,
            },
        )

    def _client(self, port: int) -> aioredis.Redis:
        return aioredis.Redis(host=HOST, port=port, password=self.password, decode_responses=True)

    async def _command(self, port: int, *args: Any) -> Any:
        async with self._client(port) as client:
            return await client.execute_command(*args)

    async def _info(self, port: int) -> dict[str, str]:
        text = await self._command(port, "CLUSTER", "INFO")
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    async def _formed(self) -> bool:
        return int((await self._info(self.ports[0]))["cluster_slots_assigned"]) > 0

    async def _form(self) -> None:
        primaries, replicas = self.ports[: self.primaries], self.ports[self.primaries :]
        for port, (first, last) in zip(primaries, slot_ranges(self.primaries), strict=True):
            await self._command(port, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for port in self.ports[1:]:
            await self._command(self.ports[0], "CLUSTER", "MEET", HOST, port)
        for number, port in enumerate(replicas):
            primary_id = await self._command(primaries[number % self.primaries], "CLUSTER", "MYID")
            await wait_until(
                partial(self._knows, port, primary_id),
                READY_WITHIN,
                f"node {port} to learn of its primary",
            )
            await self._command(port, "CLUSTER", "REPLICATE", primary_id)

    async def _knows(self, port: int, node_id: str) -> bool:
        return node_id in await self._command(port, "CLUSTER", "NODES")

    async def _ok(self, port: int) -> bool:
        info = await self._info(port)
        return info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == self.size

    async def _set_up(self) -> None:
        """Form the cluster if it is new; return once every node sees it ok."""
        if not await self._formed():
            await self._form()
        for port in self.ports:
            await wait_until(
                partial(self._ok, port), READY_WITHIN, f"node {port} to see the cluster ok"
            )
