"""The dashboard bridge: real WebSocket clients against a real server on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend import keys
from backend.broker import EmbeddedBroker
from backend.config import load_settings
from backend.dashboard import Hub, serve_dashboard
from backend.protocol import Task, TaskStatus
from backend.store import TaskStore
from tests.changes import advance
from tests.conftest import Spawn, free_port
from tests.waiting import eventually

Dashboard = Callable[..., Any]
PAGE = "http://localhost:3000"


@pytest.fixture
async def dashboard(redis_url: str) -> AsyncIterator[tuple[str, Hub]]:
    """A running dashboard: its ``ws://`` URL and its hub."""
    port, stop, hub = free_port(), asyncio.Event(), Hub(limit=64 * 1024, stall=0.5)
    settings = load_settings(redis_url=redis_url, port=port)
    serving = asyncio.create_task(serve_dashboard(settings, redis_url, stop, hub))
    url = f"ws://127.0.0.1:{port}/ws"
    async with asyncio.timeout(10):
        while True:  # until it accepts connections
            with contextlib.suppress(OSError):
                async with connect(url):
                    break
            await asyncio.sleep(0.02)
    yield url, hub
    stop.set()
    await serving


StartDashboard = Callable[..., Awaitable[str]]


@pytest.fixture
def start_dashboard(spawn: Spawn) -> StartDashboard:
    """Start ``distritask dashboard`` as a real process (``env``: its settings); its
    ``ws://`` URL once it answers."""

    async def start(*args: str, env: dict[str, str] | None = None) -> str:
        port = free_port()
        process = spawn("dashboard", "--port", str(port), *args, env=env)

        async def healthy() -> bool:
            assert process.poll() is None, "the dashboard exited"
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{port}/health")
                    return response.status_code == 200
            return False

        await eventually(healthy, within=30, what="the dashboard answering")
        return f"ws://127.0.0.1:{port}/ws"

    return start


def dashboard_log(tmp_path: Path) -> str:
    """What the (one) dashboard process started by the test has logged so far."""
    return next(tmp_path.glob("dashboard-*.log")).read_text()


async def refused(url: str, **options: Any) -> int:
    """The HTTP status a WebSocket handshake is refused with."""
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(url, **options):
            pass
    return refusal.value.response.status_code


async def relays(url: str, aredis: aioredis.Redis, **options: Any) -> bool:
    """Whether a client connected this way receives what is published."""
    async with connect(url, **options) as ws:
        await aredis.publish(keys.UPDATES_CHANNEL, "hello")
        async with asyncio.timeout(10):
            return await ws.recv() == "hello"


async def until(condition: Callable[[], object], within: float = 10.0) -> None:
    """Wait for ``condition`` to hold (polled), at most ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


async def receive(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        return [json.loads(await ws.recv()) for _ in range(count)]


async def test_a_new_client_first_gets_recent_states_oldest_first(
    dashboard: tuple[str, Hub], store: TaskStore
) -> None:
    states = [
        (await store.submit([Task(name="noop", created_at=1000.0 + i)]))[0]  # type: ignore[arg-type]
        for i in range(3)
    ]
    await store.record([advance(states[1], TaskStatus.PROCESSING, worker="w1", attempt=1, seq=1)])
    async with connect(dashboard[0]) as ws:
        got = await receive(ws, 3)
    assert [m["id"] for m in got] == [s.id for s in states]
    assert [m["status"] for m in got] == ["pending", "processing", "pending"]
    assert got[1]["worker"] == "w1" and set(got[1]) >= {"id", "status", "time", "worker", "message"}


async def test_every_update_reaches_every_client_verbatim(
    dashboard: tuple[str, Hub], aredis: aioredis.Redis
) -> None:
    go_message = (
        '{"id":"abc","status":"completed","time":"12:00:00","worker":"worker-1",'
        '"message":"Task execution finalized successfully"}'
    )
    async with connect(dashboard[0]) as first, connect(dashboard[0]) as second:
        await aredis.publish(keys.UPDATES_CHANNEL, go_message)
        await aredis.publish(keys.UPDATES_CHANNEL, "not json at all")
        for ws in (first, second):
            async with asyncio.timeout(10):
                assert await ws.recv() == go_message
                assert await ws.recv() == "not json at all"


async def test_snapshot_and_live_leave_no_gap(dashboard: tuple[str, Hub], store: TaskStore) -> None:
    """Clients connecting while a task changes fast all end on its latest state."""
    [state] = await store.submit([Task(name="noop")])
    connected = asyncio.Event()

    async def keep_updating() -> None:
        for _ in range(1000):
            await store.record([advance(state, TaskStatus.PROCESSING, worker="w", attempt=1)])
            if connected.is_set():
                return

    for _ in range(5):
        connected.clear()
        producer = asyncio.create_task(keep_updating())
        # max_queue=None: the client reads everything, so it closes without delay
        async with connect(dashboard[0], max_queue=None) as ws:
            connected.set()
            await producer
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    if message["id"] == state.id and message["seq"] == state.seq:
                        break


async def test_a_slow_client_is_dropped_without_slowing_the_others(
    dashboard: tuple[str, Hub], aredis: aioredis.Redis
) -> None:
    url, hub = dashboard
    noise = os.urandom(16_000).hex()  # incompressible: fills the slow client's buffers
    big = json.dumps({"id": "x", "status": "processing", "message": noise})

    async def drain(ws: ClientConnection) -> int:
        """Read on until the server closes the connection; how many messages came."""
        count = 0
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                count += 1
        return count

    async with (
        connect(url, max_queue=1, compression=None, close_timeout=1) as slow,
        connect(url, max_queue=None, compression=None) as fast,
    ):
        await until(lambda: len(hub.clients) == 2)
        sent = 0
        async with asyncio.timeout(30):
            while len(hub.clients) == 2:  # the slow one reads one message, then no more
                await aredis.publish(keys.UPDATES_CHANNEL, big)
                sent += 1
            draining = asyncio.create_task(drain(slow))  # at last: to see how it was closed
            await aredis.publish(keys.UPDATES_CHANNEL, "last")
            received = 0
            while await fast.recv() != "last":
                received += 1
            got = await draining
        assert received == sent
        assert fast.close_code is None
        assert (slow.close_code, slow.close_reason) == (1013, "too slow; reconnect")
        assert 0 < got < sent


async def test_a_connection_dropped_in_its_handshake_is_quiet(
    dashboard: tuple[str, Hub], caplog: pytest.LogCaptureFixture, aredis: aioredis.Redis
) -> None:
    url = dashboard[0]
    port = int(url.split(":")[2].split("/")[0])
    caplog.set_level(logging.INFO)
    for payload in (b"", b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    async with connect(url) as ws:  # still serving
        await aredis.publish(keys.UPDATES_CHANNEL, "after")
        async with asyncio.timeout(10):
            assert await ws.recv() == "after"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_it_survives_the_broker_restarting(
    dashboard: tuple[str, Hub],
    broker: EmbeddedBroker,
    store: TaskStore,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="backend.dashboard")
    [state] = await store.submit([Task(name="noop")])

    def said(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records)

    async with connect(dashboard[0], max_queue=None) as ws:
        assert (await receive(ws, 1))[0]["id"] == state.id  # the snapshot
        broker.stop()
        await until(lambda: said("lost the broker"), within=20)
        broker.start()
        client = aioredis.from_url(redis_url)
        try:
            async with asyncio.timeout(30):
                resynced = False
                while True:  # until the bridge is back and relays again
                    await client.publish(keys.UPDATES_CHANNEL, "back")
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.3):
                            message = await ws.recv()
                            resynced = resynced or state.id in message
                            if message == "back":
                                break
        finally:
            await client.aclose()
    assert said("lost the broker") == 1
    assert resynced, "no fresh snapshot after the outage"


async def test_only_the_allowed_web_origin_may_connect(
    start_dashboard: StartDashboard, aredis: aioredis.Redis
) -> None:
    url = await start_dashboard()
    assert await relays(url, aredis, origin=PAGE)  # the original page, no token
    assert await relays(url, aredis)  # a script: no Origin header
    for origin in ("http://evil.example", "http://localhost:3001", "null"):
        assert await refused(url, origin=origin) == 403, origin
    other = await start_dashboard("--allowed-origin", "https://tasks.example.com")
    assert await relays(other, aredis, origin="https://tasks.example.com")
    assert await refused(other, origin=PAGE) == 403


async def test_the_token_is_required_when_one_is_set(
    start_dashboard: StartDashboard, aredis: aioredis.Redis
) -> None:
    url = await start_dashboard(env={"DISTRITASK_API_TOKEN": "s3cret"})
    assert await refused(url) == 401
    assert await refused(url, origin=PAGE) == 401
    assert await refused(url + "?token=wrong") == 401
    assert await refused(url, subprotocols=["token.wrong"]) == 401
    assert await refused(url + "?token=s3cret", origin="http://evil.example") == 403
    assert await relays(url + "?token=s3cret", aredis, origin=PAGE)
    assert await relays(url, aredis, subprotocols=["token.s3cret"])  # type: ignore[list-item]
    async with connect(url, subprotocols=["token.s3cret"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "token.s3cret"  # a browser needs the answer to name it


async def test_a_burst_drops_only_the_clients_that_do_not_read(
    start_dashboard: StartDashboard, aredis: aioredis.Redis, tmp_path: Path
) -> None:
    """A burst of small updates (a big run finishing) reaches every reading client
    whole; only the clients that never read are dropped, each with one INFO line."""
    url = await start_dashboard()
    burst, readers, idle = 20_000, 10, 3
    filler = "x" * 250
    options: dict[str, Any] = {"compression": None, "close_timeout": 1}
    async with contextlib.AsyncExitStack() as stack:
        reading = [
            await stack.enter_async_context(connect(url, max_queue=None, **options))
            for _ in range(readers)
        ]
        silent = [
            await stack.enter_async_context(connect(url, max_queue=1, **options))
            for _ in range(idle)
        ]

        async def read_all(ws: ClientConnection) -> int:
            count = 0
            async with asyncio.timeout(120):
                while (message := await ws.recv()) != "last":
                    assert json.loads(message)["seq"] == count, "out of order or missing"
                    count += 1
            return count

        counting = [asyncio.create_task(read_all(ws)) for ws in reading]
        async with aredis.pipeline(transaction=False) as pipe:
            for first in range(0, burst, 20_000):
                for seq in range(first, min(first + 20_000, burst)):
                    message = {"id": f"t{seq % 500}", "status": "processing", "seq": seq}
                    pipe.publish(keys.UPDATES_CHANNEL, json.dumps({**message, "message": filler}))
                await pipe.execute()
        await aredis.publish(keys.UPDATES_CHANNEL, "last")
        assert await asyncio.gather(*counting) == [burst] * readers
        for ws in reading:
            assert ws.close_code is None, "a reading client was dropped"

        async def all_idle_dropped() -> bool:
            return dashboard_log(tmp_path).count("dropping a client") == idle

        await eventually(all_idle_dropped, within=30)
        for ws in silent:  # closed by the server: reading on ends with its close
            async with asyncio.timeout(30):
                with contextlib.suppress(ConnectionClosed):
                    async for _ in ws:
                        pass
            assert ws.close_code in (1013, 1006)
    text = dashboard_log(tmp_path)
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]
