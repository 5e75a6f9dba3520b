"""The panel on ``redis+sentinel://``, unchanged: it deploys a task, loses the master to a
kill -9, follows the sentinels to the new master by itself and deploys again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from backend.protocol import DEFAULT_TASK, TaskStatus
from distritask_gui.task_model import QUEUE
from tests.conftest import Spawn
from tests.gui.conftest import Open
from tests.gui.test_panel import QUICK_DEPLOY, QUICK_WORKER, _card_ids, _status
from tests.sentinel_fixtures import SentinelSetup, running_sentinels

pytestmark = pytest.mark.slow


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSetup]:
    with running_sentinels(tmp_path / "sentinel") as setup:
        yield setup


@pytest.fixture
def redis_url(sentinels: SentinelSetup) -> str:
    return sentinels.url  # what `spawn` gives the processes it starts


def test_the_panel_follows_a_sentinel_failover(
    sentinels: SentinelSetup, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(sentinels.url)
    qtbot.waitUntil(window.header.deploy.isEnabled, timeout=10_000)
    window.bridge.actions.submit(DEFAULT_TASK, QUICK_DEPLOY, 1)  # as Deploy Node does, 0.2 s
    qtbot.waitUntil(lambda: len(_card_ids(window, QUEUE)) == 1, timeout=10_000)
    [first] = _card_ids(window, QUEUE)
    spawn("worker", "--name", "w-sentinel", *QUICK_WORKER)
    qtbot.waitUntil(lambda: first in _card_ids(window, "w-sentinel"), timeout=20_000)
    qtbot.waitUntil(
        lambda: _status(window, first)[:2] == (TaskStatus.COMPLETED, 100), timeout=20_000
    )
    assert sentinels.replicated()

    old = sentinels.kill_master()
    qtbot.waitUntil(lambda: window.bridge.state != "connected", timeout=10_000)
    qtbot.waitUntil(lambda: sentinels.master_port() not in (None, old), timeout=30_000)
    named_at = time.monotonic()
    qtbot.waitUntil(lambda: window.bridge.state == "connected", timeout=10_000)
    reconnected = time.monotonic() - named_at
    print(f"panel connected again {reconnected:.2f} s after the new master was named")
    assert _status(window, first)[0] is TaskStatus.COMPLETED, "the state from before is kept"

    qtbot.waitUntil(window.header.deploy.isEnabled, timeout=10_000)
    window.bridge.actions.submit(DEFAULT_TASK, QUICK_DEPLOY, 1)  # as Deploy Node does, 0.2 s
    completed = window.footer.totals[TaskStatus.COMPLETED]
    qtbot.waitUntil(lambda: "completed <b>2</b>" in completed.text(), timeout=20_000)
