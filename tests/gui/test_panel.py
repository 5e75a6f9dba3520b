"""The panel end to end: real widgets, the real embedded broker, real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import redis
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from backend import keys
from backend.protocol import Task, TaskStatus
from backend.store import TaskStore
from distritask_gui.task_model import QUEUE
from distritask_gui.window import MainWindow
from tests.conftest import ROOT, Spawn
from tests.gui.conftest import Open, Run, with_store

QUICK_WORKER = ("--concurrency", "2", "--heartbeat-ttl", "1", "--claim-idle", "1")
QUICK_DEPLOY = {"seconds": 0.2}
"""A deploy_node payload: 0.2 s of simulated work, not its default 5 s (for tests that
wait for one to finish and check nothing of its length)."""


def _card_ids(window: MainWindow, key: str) -> list[str]:
    column = window.board.column(key)
    if column is None:
        return []
    model = column.newest
    return [model.index(r).data(window.tasks.IdRole) for r in range(model.rowCount())]


def _status(window: MainWindow, task_id: str) -> tuple[TaskStatus | None, int, str]:
    state = window.tasks.state(task_id)
    return (None, 0, "") if state is None else (state.status, state.progress, state.worker)


def _submit(url: str, run_async: Run[Any], *tasks: Task) -> list[str]:
    async def submit(store: TaskStore) -> list[str]:
        return [s.id for s in await store.submit(list(tasks))]

    return with_store(url, run_async, submit)


def test_deploy_node_card_moves_from_the_queue_to_a_worker_and_completes(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    assert window.header.deploy.isEnabled()
    qtbot.mouseClick(window.header.deploy, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_card_ids(window, QUEUE)) == 1, timeout=5000)
    [task_id] = _card_ids(window, QUEUE)
    assert _status(window, task_id)[0] is TaskStatus.PENDING

    spawn("worker", "--name", "w-click", *QUICK_WORKER)
    qtbot.waitUntil(lambda: task_id in _card_ids(window, "w-click"), timeout=15_000)
    assert _card_ids(window, QUEUE) == []
    qtbot.waitUntil(
        lambda: _status(window, task_id)[:2] == (TaskStatus.COMPLETED, 100), timeout=15_000
    )
    column = window.board.column("w-click")
    assert column is not None and column.online and "1 done" in column.stats.text()
    assert "completed <b>1</b>" in window.footer.totals[TaskStatus.COMPLETED].text()


def test_a_killed_workers_column_goes_offline_and_its_task_completes_elsewhere(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    doomed = spawn("worker", "--name", "w-doomed", *QUICK_WORKER)
    qtbot.waitUntil(lambda: window.board.column("w-doomed") is not None, timeout=15_000)
    [task_id] = _submit(redis_url, run_async, Task(name="deploy_node", payload={"seconds": 2}))
    qtbot.waitUntil(lambda: _status(window, task_id)[2] == "w-doomed", timeout=10_000)
    doomed.send_signal(signal.SIGKILL)
    column = window.board.column("w-doomed")
    assert column is not None
    qtbot.waitUntil(lambda: not column.online, timeout=10_000)
    assert "offline" in column.stats.text()

    spawn("worker", "--name", "w-rescue", *QUICK_WORKER)
    qtbot.waitUntil(lambda: _status(window, task_id)[0] is TaskStatus.COMPLETED, timeout=30_000)
    assert _status(window, task_id)[2] == "w-rescue"
    assert task_id in _card_ids(window, "w-rescue")


def test_a_panel_started_after_tasks_ran_shows_them_all(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    ids = _submit(redis_url, run_async, *[Task(name="noop") for _ in range(30)])
    spawn("worker", "--name", "w-early", *QUICK_WORKER)
    with redis.Redis.from_url(redis_url) as sync:

        def all_done() -> bool:
            counters = sync.hgetall(keys.COUNTERS)
            return int(counters.get(b"completed", 0)) == len(ids)

        qtbot.waitUntil(all_done, timeout=20_000)
    window = open_panel(redis_url)
    qtbot.waitUntil(lambda: window.tasks.rowCount() == len(ids), timeout=5000)
    assert window.tasks.totals()[TaskStatus.COMPLETED] == len(ids)
    column = window.board.column("w-early")
    assert column is not None
    qtbot.waitUntil(lambda: column.count.text() == str(len(ids)), timeout=5000)
    assert column.more.isVisible() == (len(ids) > column.newest.limit)


def test_a_go_format_update_renders_as_a_column_and_a_card(
    redis_url: str, open_panel: Open, qtbot: QtBot, sync_redis: redis.Redis
) -> None:
    window = open_panel(redis_url)
    message = {
        "id": "go-task-1",
        "status": "processing",
        "time": "10:00:00",
        "worker": "worker-1",
        "message": "Allocating resources and starting execution",
    }
    sync_redis.publish(keys.UPDATES_CHANNEL, json.dumps(message))
    sync_redis.publish(keys.UPDATES_CHANNEL, "not json at all")  # ignored, no crash
    qtbot.waitUntil(lambda: "go-task-1" in _card_ids(window, "worker-1"), timeout=5000)
    column = window.board.column("worker-1")
    assert column is not None and column.online
    assert "no heartbeat" in column.subtitle.text()
    sync_redis.publish(keys.UPDATES_CHANNEL, json.dumps(message | {"status": "completed"}))
    qtbot.waitUntil(
        lambda: _status(window, "go-task-1")[:2] == (TaskStatus.COMPLETED, 100), timeout=5000
    )


def test_broker_lost_shows_offline_then_reconnects_and_catches_up(
    redis_url: str, broker: Any, open_panel: Open, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    [before] = _submit(redis_url, run_async, Task(name="noop"))
    qtbot.waitUntil(lambda: window.tasks.state(before) is not None, timeout=5000)
    broker.stop()
    qtbot.waitUntil(lambda: window.header.state == "offline", timeout=10_000)
    assert not window.header.deploy.isEnabled()
    assert "Offline" in window.header.state_label.text()
    broker.start()
    assert broker.url == redis_url

    # recorded while the panel was away: it must catch up from the recorded state
    def answers() -> bool:  # the restarted server may still be loading its data
        try:
            with redis.Redis.from_url(redis_url) as sync:
                return bool(sync.ping())
        except redis.BusyLoadingError:
            return False

    qtbot.waitUntil(answers, timeout=15_000)
    [during] = _submit(redis_url, run_async, Task(name="noop"))
    qtbot.waitUntil(lambda: window.header.state == "connected", timeout=15_000)
    assert window.header.deploy.isEnabled()
    qtbot.waitUntil(lambda: window.tasks.state(during) is not None, timeout=5000)
    assert window.tasks.state(before) is not None


def test_clicking_a_card_opens_its_details_and_retry_queues_it_again(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    [task_id] = _submit(
        redis_url, run_async, Task(name="fail", max_retries=0, payload={"message": "disk full"})
    )
    spawn("worker", "--name", "w-detail", *QUICK_WORKER)
    qtbot.waitUntil(lambda: _status(window, task_id)[0] is TaskStatus.FAILED, timeout=15_000)
    column = window.board.column("w-detail")
    assert column is not None, (window.tasks.state(task_id), list(window.board.columns))
    rect = column.view.visualRect(column.newest.index(0))
    qtbot.mouseClick(
        column.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center() + QPoint(0, 0)
    )
    qtbot.waitUntil(lambda: task_id in window.details, timeout=3000)
    dialog = window.details[task_id]
    qtbot.waitUntil(lambda: "disk full" in dialog.error.toPlainText(), timeout=5000)
    assert dialog.fields["status"].text().count("failed") == 1
    # the timeline comes from the broker's record (finished tasks keep none in memory)
    qtbot.waitUntil(lambda: dialog.timeline.topLevelItemCount() >= 2, timeout=5000)
    assert [e.status for e in dialog.state.history][-1] is TaskStatus.FAILED
    assert dialog.retry_button.isEnabled() and not dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (window.tasks.state(task_id) or dialog.state).attempt >= 2, timeout=5000
    )
    dialog.close()


def test_self_test_runs_the_embedded_cluster_and_exits_0(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "distritask_gui",
            "--self-test",
            "--local-workers",
            "1",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "self-test passed" in result.stdout
    assert not (tmp_path / "data" / "broker.json").exists()  # the broker was stopped


def test_the_open_detail_dialog_follows_a_panel_task_until_it_is_cancelled(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot
) -> None:
    window = open_panel(redis_url)
    window.bridge.actions.submit("deploy_node", {"seconds": 30}, 1)  # as Deploy Node does
    qtbot.waitUntil(lambda: len(_card_ids(window, QUEUE)) == 1, timeout=5000)
    [task_id] = _card_ids(window, QUEUE)
    dialog = window.open_detail(task_id)
    assert dialog is not None
    spawn("worker", "--name", "w-follow", *QUICK_WORKER)
    qtbot.waitUntil(lambda: dialog.state.status is TaskStatus.PROCESSING, timeout=15_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.state.status is TaskStatus.CANCELLED, timeout=15_000)
    rows = [
        dialog.timeline.topLevelItem(r).text(1) for r in range(dialog.timeline.topLevelItemCount())
    ]
    assert rows == ["pending", "processing", "cancelled"], rows
    dialog.close()


def test_a_card_on_a_killed_worker_counts_down_to_its_reclaim_then_moves(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    window.board.claim_idle = 4.0  # as the workers below are told
    slow = ("--concurrency", "1", "--heartbeat-ttl", "1", "--claim-idle", "4")
    doomed = spawn("worker", "--name", "w-doomed", *slow)
    [task_id] = _submit(redis_url, run_async, Task(name="deploy_node", payload={"seconds": 30}))
    qtbot.waitUntil(lambda: _status(window, task_id)[2] == "w-doomed", timeout=15_000)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    column = window.board.column("w-doomed")
    assert column is not None
    qtbot.waitUntil(lambda: not column.online, timeout=10_000)
    left = column.reclaim_in()
    assert left is not None and left <= 4.0
    # stopped at the end, the heir leaves its 30 s task (no grace; not killed after 5 s)
    spawn("worker", "--name", "w-heir", *slow, "--grace-period", "0")
    qtbot.waitUntil(lambda: _status(window, task_id)[2] == "w-heir", timeout=20_000)
