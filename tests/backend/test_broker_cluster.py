"""``distritask broker --cluster N [--replicas R]``: a real local Valkey Cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from backend.broker_cluster import STATE_FILE, free_run, slot_ranges
from tests.conftest import no_retry


def test_slots_are_split_evenly_and_completely() -> None:
    ranges = slot_ranges(3)
    assert ranges == [(0, 5460), (5461, 10921), (10922, 16383)]


def _start(data_dir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    log = data_dir.with_name(data_dir.name + ".log")
    with open(log, "a") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "broker", "--data-dir", str(data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("REDIS_URL=redis://:"), log.read_text()
    return process, line.removeprefix("REDIS_URL=")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@pytest.mark.slow
def test_three_primaries_with_a_replica_each_form_one_cluster(tmp_path: Path) -> None:
    port = str(free_run(6))
    process, url = _start(tmp_path, "--cluster", "3", "--replicas", "1", "--port", port)
    try:
        with RedisCluster.from_url(url, decode_responses=True) as cluster:
            info = cluster.cluster_info(target_nodes=RedisCluster.ALL_NODES)
            assert {node["cluster_state"] for node in info.values()} == {"ok"}
            with redis.Redis.from_url(url, decode_responses=True) as node:
                shards = node.execute_command("CLUSTER", "SHARDS")
            assert len(shards) == 3
            for shard in shards:
                roles = sorted(node["role"] for node in shard["nodes"])
                assert shard["slots"] and roles == ["master", "replica"]
            for key in ("a", "b", "c", "d", "e"):  # keys land on different primaries
                cluster.set(key, key.upper())
        port_of_one = int(url.rsplit(":", 1)[1])
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(port=port_of_one, retry=no_retry()).ping()  # no password: refused
        ports = json.loads((tmp_path / STATE_FILE).read_text())["ports"]
        assert len(ports) == 6
        pids = [int(p) for p in _pids(tmp_path)]
    finally:
        _stop(process)
    for pid in pids:  # every node stopped with the command
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    process, again = _start(tmp_path, "--cluster", "3", "--replicas", "1")  # ports: kept
    try:  # a restart reuses the ports, the cluster configuration and the data
        assert again == url
        with RedisCluster.from_url(again, decode_responses=True) as cluster:
            assert cluster.get("e") == "E"
    finally:
        _stop(process)


def _pids(data_dir: Path) -> list[str]:
    """The node processes: each node's server runs with its directory as cwd."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).parent == data_dir.resolve():
                    found.append(entry.name)
            except OSError:
                continue
    return found
