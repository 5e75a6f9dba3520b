"""The panel keeps its local cluster alive: real worker processes, the real embedded server."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from backend.broker import STATE_FILE
from backend.config import Settings
from distritask_gui.app import _free_port
from distritask_gui.local_cluster import LocalCluster
from tests.waiting import eventually_sync


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCluster]:
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings(data_dir=tmp_path / "data", broker_port=_free_port(), local_workers=1)
    local = LocalCluster(settings)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _gone_or_zombie(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except OSError:
        return "gone"


def test_a_killed_local_worker_is_reaped_and_restarted(cluster: LocalCluster) -> None:
    [slot] = cluster.slots
    first = slot.process.pid
    os.kill(first, signal.SIGKILL)

    def restarted() -> bool:
        cluster.check()
        return slot.process.pid != first and slot.process.poll() is None

    eventually_sync(restarted, within=15)
    assert _gone_or_zombie(first) == "gone"  # reaped: no zombie left behind
    assert "exited (-9)" in cluster.last_problem
    # a worker that keeps dying young waits longer each time
    assert slot.restarts.deaths == 1
    os.kill(slot.process.pid, signal.SIGKILL)
    eventually_sync(lambda: cluster.check() or slot.restarts.due is not None, within=10)
    assert slot.restarts.deaths == 2


def test_a_killed_embedded_server_is_back_within_5_s_with_every_task(
    cluster: LocalCluster,
) -> None:
    assert cluster.broker is not None and cluster.broker.owned
    kept = "distritask-test:kept"  # a key no worker touches (they take and trim tasks)
    with redis.Redis.from_url(cluster.url) as sync:
        sync.rpush(kept, *range(50))
    pid = int(json.loads((cluster.settings.data_dir / STATE_FILE).read_text())["pid"])
    os.kill(pid, signal.SIGKILL)

    def answers() -> bool:
        cluster.check()
        try:
            with redis.Redis.from_url(cluster.url, socket_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    eventually_sync(answers, within=5)
    assert "embedded server exited" in cluster.last_problem
    with redis.Redis.from_url(cluster.url) as sync:
        assert sync.llen(kept) == 50  # the append-only file kept everything
