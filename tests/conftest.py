"""Fixtures shared by every test: one real embedded server, a clean database per test,
and real Distritask processes that are always stopped.

The server is started once per session through the code users run
(:class:`backend.broker.EmbeddedBroker`); nothing here mocks Redis.
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything creates a QApplication

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from backend.broker import EmbeddedBroker
from backend.broker_cluster import EmbeddedCluster, free_run
from backend.processes import terminate_all
from backend.store import TaskStore

ROOT = Path(__file__).resolve().parent.parent


def no_retry() -> Retry:
    """For a client a test expects to be refused (``retry=no_retry()``): the refusal at
    once, not after redis-py's default retries and their seconds of backoff (it retries
    an AuthenticationError, a ConnectionError)."""
    return Retry(NoBackoff(), 0)


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manager_answers(base: str, process: subprocess.Popen[bytes]) -> Callable[[], bool]:
    """Whether the manager ``process`` serving ``base`` answers ``/health`` yet (the
    test fails if it exited): the condition to wait on, with the waiter that suits the
    test (``eventually_sync``, or ``qtbot.waitUntil`` under the panel's loop)."""

    def answers() -> bool:
        assert process.poll() is None, "the manager exited"
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(base + "/health").status_code == 200
        return False

    return answers


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """The session's embedded server."""
    # A port the OS picked, not the first free from 16379: parallel runs do not collide.
    embedded = EmbeddedBroker(tmp_path_factory.mktemp("broker"), free_port())
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """A local 3-primary Valkey Cluster, started once per session when a test asks (the
    cluster-mode tests override ``redis_url`` with its URL: see tests/backend/cluster)."""
    local = EmbeddedCluster(tmp_path_factory.mktemp("cluster"), 3, port=free_run(3))
    local.start()
    yield local
    local.stop()


def cluster_url(cluster: EmbeddedCluster) -> str:
    """The URL of one node of ``cluster``, every primary emptied."""
    with RedisCluster.from_url(cluster.url) as client:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    return cluster.url


@pytest.fixture
def redis_url(broker: EmbeddedBroker) -> str:
    """The URL of the session's server, with an empty database for this test."""
    if not broker.alive():  # a test may have stopped it on purpose
        broker.stop()
        broker.start()
    with redis.Redis.from_url(broker.url) as client:
        client.flushall()
    return broker.url


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as client:
        yield client


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(aredis: aioredis.Redis) -> TaskStore:
    task_store = TaskStore(aredis)
    await task_store.ensure_group()
    return task_store


Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def spawn(redis_url: str, tmp_path: Path) -> Iterator[Spawn]:
    """Start ``distritask <args>`` as a real process joined to the test's server.

    Output goes to a log file in ``tmp_path`` (shown when a test fails). Every process
    still running at the end is sent SIGTERM, then SIGKILL after five seconds.
    """
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"{args[0]}-{len(started)}.log"
        full_env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", **(env or {})}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=ROOT,
            )
        started.append((process, log_path))
        return process

    yield _spawn
    terminate_all((process for process, _ in started), within=5)
    for process, log_path in started:
        sys.stderr.write(
            f"--- {log_path.name} (exit {process.returncode}) ---\n"
            f"{log_path.read_text(errors='replace')[-4000:]}\n"
        )
