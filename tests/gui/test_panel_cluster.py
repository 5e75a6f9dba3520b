"""The panel against a Valkey Cluster, unchanged: pointed at one node, it deploys a task
and shows it move from the queue to a worker column and complete."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from backend.broker_cluster import EmbeddedCluster
from backend.protocol import DEFAULT_TASK, TaskStatus
from distritask_gui.task_model import QUEUE
from tests.conftest import Spawn, cluster_url
from tests.gui.conftest import Open
from tests.gui.test_panel import QUICK_DEPLOY, QUICK_WORKER, _card_ids, _status


@pytest.fixture
def redis_url(valkey_cluster: EmbeddedCluster) -> str:
    return cluster_url(valkey_cluster)


def test_the_panel_deploys_and_follows_a_task_on_a_cluster(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    qtbot.waitUntil(window.header.deploy.isEnabled, timeout=10_000)
    window.bridge.actions.submit(DEFAULT_TASK, QUICK_DEPLOY, 1)  # as Deploy Node does, 0.2 s
    qtbot.waitUntil(lambda: len(_card_ids(window, QUEUE)) == 1, timeout=10_000)
    [task_id] = _card_ids(window, QUEUE)
    spawn("worker", "--name", "w-cluster", *QUICK_WORKER)
    qtbot.waitUntil(lambda: task_id in _card_ids(window, "w-cluster"), timeout=20_000)
    qtbot.waitUntil(
        lambda: _status(window, task_id)[:2] == (TaskStatus.COMPLETED, 100), timeout=20_000
    )
    assert "completed <b>1</b>" in window.footer.totals[TaskStatus.COMPLETED].text()
