"""A Sentinel failover mid-run: every part follows the new master by itself.

Real processes (a worker, the manager, the dashboard, ``distritask submit``) and the
client API run against ``redis+sentinel://``; the master is killed with SIGKILL (or
demoted by ``SENTINEL FAILOVER``) while tasks flow. Each part must work against the new
master within 10 s of the sentinels naming it, and no task whose submit had reached the
replica is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from backend import connection, keys
from backend.client import Client
from backend.protocol import TaskStatus
from backend.store import TaskStore
from tests.backend.worker.conftest import FAST, wait_online, wait_states
from tests.conftest import ROOT, Spawn, free_port
from tests.sentinel_fixtures import SentinelSetup, running_sentinels
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FOLLOW_WITHIN = 10.0
"""Seconds each part gets, from the sentinels naming the new master, to work again."""


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSetup]:
    with running_sentinels(tmp_path / "sentinel") as setup:
        yield setup


async def answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=2.0)).status_code == 200
    return False


async def submit_cli(url: str, *args: str, within: float = 60.0) -> int | None:
    """``distritask submit ARGS`` against ``url``: its exit status, or ``None`` when it
    has not finished within ``within`` seconds (it is stopped then)."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "backend.cli", "submit", *args),
        env={**os.environ, "REDIS_URL": url},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return await asyncio.wait_for(process.wait(), timeout=within)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None


async def seconds_until(works: Callable[[], Awaitable[bool]], since: float) -> float:
    """Seconds from ``since`` until ``works()`` first returns true (broker-down errors
    on the way count as not yet)."""

    async def attempt() -> bool:
        try:
            return await works()
        except Exception as exc:
            if connection.is_broker_down(exc):
                return False
            raise

    await eventually(attempt, within=60, interval=0.1, what=works.__name__)
    return time.monotonic() - since


@pytest.mark.parametrize("how", ["kill -9", "SENTINEL FAILOVER"])
async def test_every_part_follows_a_failover_to_the_new_master(
    sentinels: SentinelSetup, spawn: Spawn, tmp_path: Path, how: str
) -> None:
    url = sentinels.url
    env = {"REDIS_URL": url, **FAST, "DISTRITASK_CLAIM_IDLE": "3"}
    spawn("worker", "--log-level", "INFO", "--concurrency", "4", env=env)
    manager_port, dashboard_port = free_port(), free_port()
    spawn("manager", "--port", str(manager_port), env=env)
    spawn("dashboard", "--port", str(dashboard_port), env=env)
    manager = f"http://127.0.0.1:{manager_port}"
    await eventually(lambda: answers(manager + "/health"), within=30, what="the manager")
    dashboard = f"http://127.0.0.1:{dashboard_port}"
    await eventually(lambda: answers(dashboard + "/health"), within=30, what="the dashboard")

    redis = connection.client(url)
    store = TaskStore(redis)
    # max_queue=None: this client reads only its probes, and a client that stops reading
    # (the default 16 messages queued) cannot read the dashboard's reply to its close
    # either: leaving would wait out close_timeout (10 s) for nothing
    ws_url = f"ws://127.0.0.1:{dashboard_port}/ws"
    async with Client(url) as client, connect(ws_url, max_queue=None) as ws:
        await wait_online(store, 1, within=30)
        # Before: every part works through the sentinels.
        before = [await client.submit("noop") for _ in range(5)]
        for task_id in before:
            assert await client.result(task_id, timeout=30) is None
        async with httpx.AsyncClient(base_url=manager, timeout=10.0) as http:
            reply = await http.post("/submit", json={"name": "noop", "count": 3})
            before += reply.json()["ids"]
        assert await submit_cli(url, "--name", "noop", "--count", "2", "--wait") == 0
        await wait_states(store, before, within=30)

        # Tasks in flight when the master dies; their submits have reached the replica.
        flowing = await client.submit_many(
            [{"name": "sleep", "payload": {"seconds": 0.05}} for _ in range(200)]
        )

        async def some_done() -> bool:
            return sum(s is not None and s.status.terminal for s in await states(flowing)) >= 20

        async def states(ids: list[str]) -> list[object]:
            return [await client.get(i) for i in ids]

        await eventually(some_done, within=30, what="tasks flowing")
        assert await asyncio.to_thread(sentinels.replicated)
        failed_at = time.monotonic()
        fail = sentinels.kill_master if how == "kill -9" else sentinels.fail_over
        old = await asyncio.to_thread(fail)

        async def new_master_named() -> bool:
            return (await asyncio.to_thread(sentinels.master_port)) not in (None, old)

        await eventually(new_master_named, within=30, interval=0.1, what="a new master")
        named_at = time.monotonic()

        # A round trip per part: a submit that finishes. A submit the old master took in
        # the moments before its clients moved (or it was demoted) is lost (see the
        # README): that part is then not working yet, and tries again.
        async def worker_and_client_api() -> bool:
            task_id = await client.submit("noop")
            with contextlib.suppress(TimeoutError):
                await client.result(task_id, timeout=5)
                return True
            return False

        async def manager_submits() -> bool:
            async with httpx.AsyncClient(base_url=manager, timeout=5.0) as http:
                reply = await http.post("/submit", json={"name": "noop", "count": 1})
                if reply.status_code != 200:
                    return False
                [task_id] = reply.json()["ids"]
            with contextlib.suppress(AssertionError):
                await wait_states(store, [task_id], within=5)
                return True
            return False

        probe = 0

        async def dashboard_relays() -> bool:
            nonlocal probe
            probe += 1
            await redis.publish(keys.UPDATES_CHANNEL, f"probe-{probe}")
            return await received(ws, f"probe-{probe}")

        async def submit_command() -> bool:
            return await submit_cli(url, "--name", "noop", "--wait", within=8) == 0

        parts = {
            "worker + client API": worker_and_client_api,
            "manager": manager_submits,
            "dashboard": dashboard_relays,
            "distritask submit": submit_command,
        }
        took = dict(
            zip(
                parts,
                await asyncio.gather(*(seconds_until(f, named_at) for f in parts.values())),
                strict=True,
            )
        )
        report = {name: round(seconds, 2) for name, seconds in took.items()}
        report["new master named"] = round(named_at - failed_at, 2)
        print(f"sentinel failover ({how}), seconds:", json.dumps(report))
        slow = {name: s for name, s in took.items() if s > FOLLOW_WITHIN}
        assert not slow, f"parts slower than {FOLLOW_WITHIN} s to follow the failover: {report}"

        # Nothing whose submit had reached the replica is lost: all of it finishes.
        finished = await wait_states(store, before + flowing, within=90)
        assert len(finished) == len(before) + len(flowing)
        assert all(s.status is TaskStatus.COMPLETED for s in finished)
    await redis.aclose()
    log = (tmp_path / "worker-0.log").read_text()
    assert "internal error" not in log, log[-3000:]
    if how == "kill -9":
        assert "reachable again" in log, log[-3000:]


async def received(ws: ClientConnection, text: str) -> bool:
    """Whether ``text`` arrives on ``ws`` within a short while (other messages skipped)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.5):
            while True:
                if await ws.recv() == text:
                    return True
    return False
