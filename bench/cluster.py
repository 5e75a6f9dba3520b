"""The cluster part: the same end-to-end run against the bench's single server and a
local Valkey Cluster of :data:`PRIMARIES` primaries (started here from the embedded
server's binary, on free loopback ports, and removed at the end), in one run.

For each: submit, throughput and latency as in :mod:`bench.end_to_end`, and what the
servers spent per task, summed over every primary: CPU (``INFO cpu``: ``used_cpu_sys``
+ ``used_cpu_user``, which includes the cluster's own bus and cron work) and command
time (``INFO commandstats``: the ``usec`` of every command, scripts included; wall
time, so it grows when the server waits for a core). The cluster runs twice: with the
Go-compatible ``task_updates`` PUBLISH (the default), then without it. The
tasks run through the store every part makes there (one logical queue sharded over
every primary, :mod:`backend.store.sharded`), so each primary does a share of the
queue's work; on a machine with fewer cores than primaries the figures show what
cluster mode and sharding cost, not what more machines would add (see
bench/README.md, "Scaling out").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from backend import connection
from backend.broker_cluster import EmbeddedCluster, free_run

from .end_to_end import EndToEnd, _one
from .report import Row
from .stats import server_cpu

PRIMARIES = 3
CLASSIC_UPDATES = "DISTRITASK_CLASSIC_UPDATES"


@dataclass
class Served:
    """One target's end-to-end run and its servers' cost per task."""

    target: str
    run: EndToEnd
    cpu_us_per_task: float
    """Summed over every primary."""
    command_us_per_task: float
    cpu_us_by_primary: list[float]
    """Each primary's CPU per task, busiest first."""

    def details(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "cpu_us_per_task": self.cpu_us_per_task,
            "cpu_us_by_primary": self.cpu_us_by_primary,
            "command_us_per_task": self.command_us_per_task,
            **self.run.details(),
        }


def measure(
    url: str, tasks: int, processes: int, samples: int, concurrency: int | None
) -> list[Served]:
    """The run against ``url`` (a single server), then against a fresh local cluster."""
    data_dir = Path(tempfile.mkdtemp(prefix="distritask-bench-cluster-"))
    try:
        served = [_served("single node", url, tasks, processes, samples, concurrency)]
        with EmbeddedCluster(data_dir, PRIMARIES, port=free_run(PRIMARIES)) as cluster:
            target = f"{PRIMARIES}-primary cluster"
            served.append(_served(target, cluster.url, tasks, processes, samples, concurrency))
            served.append(
                _served(
                    f"{target}, no task_updates",
                    cluster.url,
                    tasks,
                    processes,
                    samples,
                    concurrency,
                    classic_updates=False,
                )
            )
        return served
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def cluster_rows(served: list[Served]) -> list[Row]:
    rows: list[Row] = []
    for one in served:
        k, where = one.run.processes, one.target
        rows += [
            Row("cluster", f"{where}: throughput, {k} worker procs", one.run.tasks_per_s, "/s"),
            Row("cluster", f"{where}: latency p50", one.run.latency_p50_ms, "ms"),
            Row("cluster", f"{where}: latency p99", one.run.latency_p99_ms, "ms"),
            Row("cluster", f"{where}: server CPU per task", one.cpu_us_per_task, "µs"),
            Row(
                "cluster",
                f"{where}: busiest primary's CPU per task",
                one.cpu_us_by_primary[0],
                "µs",
            ),
            Row("cluster", f"{where}: command time per task", one.command_us_per_task, "µs"),
        ]
    return rows


def _served(
    target: str,
    url: str,
    tasks: int,
    processes: int,
    samples: int,
    concurrency: int | None,
    *,
    classic_updates: bool = True,
) -> Served:
    """One end-to-end run; ``classic_updates`` off: neither the workers nor the submits
    PUBLISH ``task_updates`` (``DISTRITASK_CLASSIC_UPDATES=false``)."""
    cpus, commands = _spent(url)
    setting = {} if classic_updates else {CLASSIC_UPDATES: "false"}
    with tempfile.TemporaryDirectory(prefix="distritask-bench-logs-") as logs, _env(setting):
        run = asyncio.run(
            _one(url, processes, tasks, samples, concurrency, Path(logs), None, classic_updates)
        )
    cpus_after, commands_after = _spent(url)
    total = tasks + samples + 10  # the latency samples and their warm-up run too
    by_primary = sorted(
        ((after - before) * 1e6 / total for before, after in zip(cpus, cpus_after, strict=True)),
        reverse=True,
    )
    return Served(target, run, sum(by_primary), (commands_after - commands) / total, by_primary)


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    """``values`` in the environment (the worker processes inherit it) for a while."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _spent(url: str) -> tuple[list[float], float]:
    """Each primary's CPU seconds so far, and command microseconds summed over them."""
    cpus: list[float] = []
    usec = 0.0
    with connection.sync_client(url, timeout=None) as client:
        for node in _primaries(client):
            info = node.info("cpu")
            cpus.append(server_cpu(info))
            stats = node.info("commandstats")
            usec += sum(float(entry["usec"]) for entry in stats.values())
    return cpus, usec


def _primaries(client: Any) -> list[Any]:
    """A client per primary: the one server, or each primary of a cluster (by port)."""
    if isinstance(client, redis.RedisCluster):
        primaries = sorted(client.get_primaries(), key=lambda node: node.port)
        return [client.get_redis_connection(node) for node in primaries]
    return [client]
