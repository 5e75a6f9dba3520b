"""Cluster mode: ``REDIS_URL`` at any node of a Valkey Cluster works, for every part.

Against the real 3-primary cluster of ``conftest.py``: each script and transaction
touches keys of one hash slot (a CROSSSLOT anywhere fails these tests), and the
worker, manager, dashboard and ``distritask submit`` run unchanged.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from redis.asyncio.cluster import RedisCluster
from websockets.asyncio.client import connect

from backend import cluster_probe, connection, keys
from backend.broker import EmbeddedBroker
from backend.client import Client
from backend.protocol import Task, TaskStatus
from backend.store import TaskStore
from tests.backend.cluster.conftest import keys_by_node
from tests.conftest import Spawn, free_port
from tests.waiting import eventually_sync


def test_a_cluster_node_is_found_and_a_single_server_is_not(
    redis_url: str, broker: EmbeddedBroker
) -> None:
    broker_url = broker.url
    assert cluster_probe.is_cluster(redis_url)
    assert not cluster_probe.is_cluster(broker_url)
    assert cluster_probe.is_cluster(broker_url, "on")  # the setting wins
    assert not cluster_probe.is_cluster(redis_url, "off")
    assert connection.layout(connection.client(redis_url)) == keys.cluster()
    assert connection.layout(connection.client(broker_url)) is keys.STANDALONE


async def test_the_probe_on_an_event_loop_asks_without_guessing(
    redis_url: str, broker: EmbeddedBroker
) -> None:
    cluster_probe._probed.clear()
    assert await cluster_probe.probe(redis_url) == "on"
    assert await cluster_probe.probe(broker.url) == "off"
    with pytest.raises(connection.BROKER_DOWN):  # down: an outage, not "a single server"
        await cluster_probe.probe("redis://127.0.0.1:1")


def test_the_standalone_layout_keeps_the_go_names() -> None:
    standalone = keys.STANDALONE
    assert standalone.stream("default") == keys.TASK_STREAM == "task_stream"
    assert standalone.TASK_STATES == keys.TASK_STATES
    assert standalone.due("default") == keys.RETRY_SCHEDULE
    assert standalone.index("status", "failed") == keys.index("status", "failed")
    clustered = keys.cluster()
    assert clustered.stream("default") == "distritask:{dt}:task_stream"
    assert clustered.index("status", "failed") == "distritask:{dt}:ix:status:failed"


async def test_the_store_runs_every_script_on_the_cluster(redis_url: str, store: TaskStore) -> None:
    assert isinstance(store.redis, RedisCluster)
    async with Client(redis_url) as client:
        many = await client.submit_many([("noop", {"n": i}) for i in range(3000)])  # pipelined
        delayed = await client.submit("noop", queue="low", delay=3600)
        await client.submit("noop", queue="high", task_id="mine")
        assert await client.submit("noop", queue="high", task_id="mine") == "mine"  # duplicate
        cancelled = await client.cancel(many[0])
        assert cancelled.status is TaskStatus.CANCELLED
        assert len(await client.list_tasks(status="pending", limit=500)) == 500
        assert [t.id for t in await client.list_tasks(q="mine")] == ["mine"]
    await store.submit([Task(name="noop")])
    assert (await store.counters())["submitted"] == 3003
    assert (await store.get(delayed)) is not None
    queues = {info.name: info for info in await store.queue_infos()}
    assert queues["default"].depth >= 2999 and "low" in queues
    found = keys_by_node(redis_url)
    every = [key for node in found.values() for key in node]
    assert every and all(key.startswith("distritask:{") for key in every), every[:5]


def test_every_part_runs_against_the_cluster(redis_url: str, spawn: Spawn) -> None:
    worker = spawn("worker", "--concurrency", "4")
    port = free_port()
    manager = spawn("manager", "--port", str(port))
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert manager.poll() is None and worker.poll() is None, "a part exited"
        try:
            return httpx.get(base + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    eventually_sync(healthy, within=30, what="the manager to answer")
    dash_port = free_port()
    spawn("dashboard", "--port", str(dash_port))
    eventually_sync(
        lambda: _answers(f"http://127.0.0.1:{dash_port}/health"),
        within=30,
        what="the dashboard to answer",
    )
    seen = asyncio.run(_watch_dashboard(f"ws://127.0.0.1:{dash_port}/ws", base))
    assert seen >= 1
    submitter = spawn("submit", "--name", "noop", "--count", "40", "--wait")
    assert submitter.wait(timeout=60) == 0

    def all_done() -> bool:
        page = httpx.get(base + "/tasks", params={"status": "completed", "limit": 500}).json()
        return len(page["tasks"]) == 41

    eventually_sync(all_done, within=60, what="every task completed, listed by the manager")
    stats = httpx.get(base + "/stats").json()
    assert stats["totals"]["completed"] == 41
    assert [w["name"] for w in httpx.get(base + "/workers").json()["workers"]]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def _watch_dashboard(ws_url: str, manager: str) -> int:
    """Submit one task over HTTP; how many of its updates the dashboard relayed."""
    async with connect(ws_url) as ws:
        async with httpx.AsyncClient() as http:
            # the default task (deploy_node), shortened from its 5 s through its payload
            quick = {"name": "deploy_node", "payload": {"seconds": 0.2}}
            task_id = (await http.post(manager + "/submit", json=quick)).json()["id"]

        async def relayed() -> int:
            statuses = set()
            while "completed" not in statuses:
                message = json.loads(await ws.recv())
                if message.get("id") == task_id:
                    statuses.add(message["status"])
            return len(statuses)

        return await asyncio.wait_for(relayed(), 60)


def test_a_part_that_took_the_cluster_for_a_single_server_says_what_to_set(
    redis_url: str, spawn: Spawn, tmp_path: Path
) -> None:
    # DISTRITASK_CLUSTER=off stands for ``auto`` finding the node down at start.
    worker = spawn("worker", env={"DISTRITASK_CLUSTER": "off"})
    assert worker.wait(timeout=60) != 0
    [log] = tmp_path.glob("worker-*.log")
    assert "set DISTRITASK_CLUSTER=on" in log.read_text()
