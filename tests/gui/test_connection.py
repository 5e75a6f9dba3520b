"""The panel's broker connection on the real embedded broker: snapshot, live updates,
batching, and what it says when the broker is unreachable or a bug ends a session."""

from __future__ import annotations

import logging
from typing import Any

import redis
from pytestqt.qtbot import QtBot

from backend import keys
from backend.causes import Cause
from backend.protocol import StatusUpdate, Task, TaskStatus, encode_update, make_update
from backend.state import TaskState, encode_state
from backend.store import TaskStore
from distritask_gui.app import _free_port
from distritask_gui.bridge import Bridge
from distritask_gui.connection import BrokerConnection, ConnectionState
from distritask_gui.task_model import TaskModel
from tests.changes import advance
from tests.gui.conftest import Run, with_store
from tests.tls_fixtures import TlsServer, tls_server

assert tls_server  # a fixture, imported to be used here

TASKS = 12_000  # more than one snapshot batch (5,000)


def _record_running(url: str, run_async: Run[Any]) -> list[TaskState]:
    """TASKS tasks recorded as processing on w1 (as a worker records them)."""
    changes = [
        advance(
            TaskState.from_task(Task(name="noop", max_retries=0)),
            TaskStatus.PROCESSING,
            worker="w1",
            attempt=1,
            seq=1,
        )
        for _ in range(TASKS)
    ]
    states = [state for state, _ in changes]

    async def record(store: TaskStore) -> None:
        await store.record(changes)

    with_store(url, run_async, record, retention=TASKS)
    return states


def _complete(sync: redis.Redis, states: list[TaskState]) -> None:
    """Record and publish each task's completion, as a worker does."""
    with sync.pipeline(transaction=False) as pipe:
        for state in states:
            update = make_update(state.id, TaskStatus.COMPLETED, worker="w1", attempt=1, seq=2)
            done = state.model_copy(deep=True)
            done.apply(update)
            pipe.hset(keys.TASK_STATES, state.id, encode_state(done))
            pipe.publish(keys.UPDATES_CHANNEL, encode_update(update))
        pipe.execute()


def test_updates_published_while_the_snapshot_loads_count_once(
    redis_url: str, qloop: Any, qtbot: QtBot, run_async: Run[Any], sync_redis: redis.Redis
) -> None:
    states = _record_running(redis_url, run_async)
    bridge = BrokerConnection(redis_url)
    model = TaskModel()
    batches: list[int] = []
    bridge.snapshot_loaded.connect(model.feed)
    bridge.updates_received.connect(model.feed)
    bridge.updates_received.connect(lambda updates: batches.append(len(updates)))

    completed: list[bool] = []

    def complete_all_once(_: list[TaskState]) -> None:
        if not completed:
            completed.append(True)
            _complete(sync_redis, states)  # while the rest of the snapshot loads

    bridge.snapshot_loaded.connect(complete_all_once)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: sum(batches) == TASKS, timeout=30_000)
        model.flush()
        # every completion counted once, whether read from the snapshot or live
        assert model.totals() == {TaskStatus.COMPLETED: TASKS} and model.rowCount() == TASKS
        assert model.column_counts("w1") == {TaskStatus.COMPLETED: TASKS}
        assert len(batches) <= TASKS // 10  # in batches, not one signal per update
    finally:
        run_async(bridge.stop())


def test_a_burst_of_live_updates_arrives_in_order_in_a_few_batches(
    redis_url: str, qloop: Any, qtbot: QtBot, run_async: Run[Any], sync_redis: redis.Redis
) -> None:
    bridge = BrokerConnection(redis_url)
    received: list[list[StatusUpdate]] = []
    bridge.updates_received.connect(received.append)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: bridge.state == "connected", timeout=10_000)
        updates = [
            make_update("burst", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=i)
            for i in range(3000)
        ]
        with sync_redis.pipeline(transaction=False) as pipe:
            for update in updates:
                pipe.publish(keys.UPDATES_CHANNEL, encode_update(update))
            pipe.publish(keys.UPDATES_CHANNEL, "not json")  # skipped, the rest still come
            pipe.execute()
        qtbot.waitUntil(lambda: sum(map(len, received)) == len(updates), timeout=10_000)
        assert [u.seq for batch in received for u in batch] == list(range(3000))
        assert len(received) <= len(updates) // 10  # in batches, not one per update
    finally:
        run_async(bridge.stop())


def test_a_refused_connection_goes_offline_and_says_why(
    qloop: Any, qtbot: QtBot, run_async: Run[Any]
) -> None:
    connection = BrokerConnection(f"redis://127.0.0.1:{_free_port()}", offline_after=0.3)
    connection.start()
    try:
        qtbot.waitUntil(lambda: connection.state is ConnectionState.OFFLINE, timeout=10_000)
        assert connection.cause is Cause.REFUSED
    finally:
        run_async(connection.stop())


def test_a_programming_error_fails_the_session_instead_of_reconnecting_forever(
    redis_url: str, qloop: Any, qtbot: QtBot, run_async: Run[Any], sync_redis: redis.Redis
) -> None:
    sync_redis.set(keys.TASK_STREAM, "not a stream")  # XGROUP CREATE: WRONGTYPE
    connection = BrokerConnection(redis_url)
    states: list[ConnectionState] = []
    connection.connection_changed.connect(lambda state, _address: states.append(state))
    connection.start()
    try:
        qtbot.waitUntil(lambda: connection.state is ConnectionState.FAILED, timeout=10_000)
        assert connection.cause is Cause.ERROR and "WRONGTYPE" in connection.detail
        assert ConnectionState.RECONNECTING not in states
        sync_redis.delete(keys.TASK_STREAM)
        connection.retry_now()  # "Retry now" in the header
        qtbot.waitUntil(lambda: connection.state is ConnectionState.CONNECTED, timeout=10_000)
    finally:
        run_async(connection.stop())


def test_the_alert_checks_wait_for_the_first_answer_and_report_no_outage(
    redis_url: str, qloop: Any, qtbot: QtBot, run_async: Run[Any], caplog: Any
) -> None:
    """Opening the panel is not reported as losing the broker: the alert checks start
    once the connection is up, and their rounds find nothing wrong."""
    caplog.set_level(logging.WARNING)
    bridge = Bridge(redis_url, poll_interval=0.2)
    watch = bridge.alerts.watch
    watch.every, rounds = 0.05, []
    check = watch.check

    async def counted() -> float:
        rounds.append(bridge.state)
        return await check()

    watch.check = counted  # type: ignore[method-assign]
    bridge.start()
    try:
        qtbot.waitUntil(lambda: len(rounds) >= 3, timeout=10_000)
        assert set(rounds) == {ConnectionState.CONNECTED}
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        run_async(bridge.stop())


def test_an_untrusted_tls_certificate_goes_offline_saying_tls(
    tls_server: TlsServer, qloop: Any, qtbot: QtBot, run_async: Run[Any]
) -> None:
    connection = BrokerConnection(tls_server.untrusted_url, offline_after=0.3)
    connection.start()
    try:
        qtbot.waitUntil(lambda: connection.state is ConnectionState.OFFLINE, timeout=10_000)
        assert connection.cause is Cause.TLS
    finally:
        run_async(connection.stop())
