"""The loop long-running parts run on (uvloop where installed) and connections that send
without a task per command, against real servers and a real worker process."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import redis.exceptions

from backend import connection, loops
from backend.broker import EmbeddedBroker
from backend.client import BlockingClient, Client
from backend.quick_send import NEEDED, QuickSend
from tests.conftest import Spawn
from tests.waiting import eventually


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
async def test_a_worker_runs_tasks_on_uvloop_and_says_so(
    spawn: Spawn, redis_url: str, tmp_path: Path
) -> None:
    assert loops.kind() == "uvloop"  # a dependency wherever the worker runs
    worker = spawn("worker", "--name", "loop-worker", "--log-level", "INFO")
    log = tmp_path / "worker-0.log"
    await eventually(lambda: "worker loop-worker ready" in log.read_text(), within=30)
    assert "loop uvloop" in log.read_text()
    async with Client(redis_url) as client:
        task_id = await client.submit("echo", {"on": "uvloop"}, max_retries=0)
        assert await client.result(task_id, timeout=30) == {"on": "uvloop"}
    assert worker.poll() is None


def test_loops_run_returns_what_the_coroutine_returns() -> None:
    async def answer() -> int:
        return 42

    assert loops.run(answer()) == 42


@pytest.mark.skipif(not NEEDED, reason="Python 3.12+ sends without a task anyway")
async def test_clients_send_without_a_task_per_command(redis_url: str) -> None:
    client = connection.client(redis_url)
    try:
        assert issubclass(client.connection_pool.connection_class, QuickSend)
        assert await client.ping()
        await client.set("quick-send", "x" * 100_000)
        assert len(await client.get("quick-send")) == 100_000
    finally:
        await client.delete("quick-send")
        await client.aclose()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP")
async def test_a_command_to_a_broker_that_stopped_answering_times_out(tmp_path: Path) -> None:
    """A hung broker (SIGSTOP: the connection is up, nothing reads) fails a command
    within the socket timeout, with an error every part treats as "broker down"
    (redis-py's TimeoutError; over a Unix socket its retry connects again, and the
    new connection's handshake times out: a ConnectionError); a big command that
    fills the socket's buffers too."""
    with EmbeddedBroker(tmp_path / "hung") as broker:
        client = connection.client(broker.url, timeout=0.5)
        try:
            await client.ping()
            assert broker.process is not None
            os.kill(broker.process.pid, signal.SIGSTOP)
            try:
                for command in (client.ping(), client.set("big", b"x" * (64 << 20))):
                    began = time.monotonic()
                    with pytest.raises(redis.exceptions.RedisError) as failed:
                        await command
                    assert time.monotonic() - began < 5 * 0.5 * 3  # retries included
                    assert connection.is_broker_down(failed.value), repr(failed.value)
            finally:
                os.kill(broker.process.pid, signal.SIGCONT)
        finally:
            await client.aclose()


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_the_blocking_client_runs_on_uvloop(spawn: Spawn, redis_url: str) -> None:
    spawn("worker", "--name", "loop-blocking")
    with BlockingClient(redis_url) as client:
        task_id = client.submit("echo", [1, 2], max_retries=0)
        assert client.result(task_id, timeout=30) == [1, 2]
        assert type(client._loop).__module__.startswith("uvloop")
