"""The panel keeps its local cluster alive: real worker processes, the real embedded server."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytestqt.qtbot import QtBot

from backend.broker import STATE_FILE
from backend.config import Settings
from distritask_gui.app import _free_port
from distritask_gui.local_cluster import LocalCluster
from tests.gui.conftest import Open
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


def test_the_local_cluster_dialog_grows_and_shrinks_real_workers(
    cluster: LocalCluster, open_panel: Open, qtbot: QtBot
) -> None:
    window = open_panel(cluster.url)
    window.set_local_cluster(cluster)
    assert window.header.cluster_action.isVisible()
    [first] = cluster.slots

    dialog = window.open_cluster_dialog()
    assert dialog is not None and dialog.workers.value() == 1
    dialog.workers.setValue(3)
    dialog.accept()
    qtbot.waitUntil(lambda: len(cluster.slots) == 3, timeout=10_000)
    assert all(slot.process.poll() is None for slot in cluster.slots)
    names = [slot.name for slot in cluster.slots]
    assert names == ["worker-1", "worker-2", "worker-3"]
    for name in names:
        qtbot.waitUntil(
            lambda name=name: (c := window.board.column(name)) is not None and c.online,
            timeout=20_000,
        )

    dialog = window.open_cluster_dialog()
    assert dialog is not None and dialog.workers.value() == 3
    dialog.workers.setValue(1)
    dialog.accept()
    qtbot.waitUntil(lambda: len(cluster.slots) == 1, timeout=10_000)
    assert cluster.slots[0].process is first.process  # the first one stays
    leaving = [slot.process for slot in cluster.leaving]
    assert len(leaving) == 2

    def drained() -> bool:
        cluster.check()  # the panel's supervision round: reaps, restarts nothing
        return not cluster.leaving

    qtbot.waitUntil(drained, timeout=20_000)
    assert [process.returncode for process in leaving] == [0, 0]
    assert all(_gone_or_zombie(process.pid) == "gone" for process in leaving)
    for name in ("worker-2", "worker-3"):
        qtbot.waitUntil(lambda name=name: not window.board.column(name).online, timeout=10_000)
    assert len(cluster.slots) == 1 and first.process.poll() is None

    dialog = window.open_cluster_dialog()
    assert dialog is not None
    dialog.concurrency.setValue(2)  # a new concurrency replaces the worker
    dialog.accept()
    qtbot.waitUntil(lambda: [s.name for s in cluster.slots] == ["worker-4"], timeout=10_000)
    qtbot.waitUntil(
        lambda: (
            (c := window.board.column("worker-4")) is not None and "2 slots" in c.subtitle.text()
        ),
        timeout=20_000,
    )
    qtbot.waitUntil(drained, timeout=20_000)
    assert first.process.returncode == 0
