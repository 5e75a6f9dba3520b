"""A real worker for the client tests, joined to the test's server."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable

import pytest

from backend.client import Client
from backend.store import TaskStore
from tests.waiting import eventually

StartWorker = Callable[..., subprocess.Popen[bytes]]
TASKS = "tests.backend.client.result_tasks"


@pytest.fixture
def start_worker(spawn: Callable[..., subprocess.Popen[bytes]]) -> StartWorker:
    """A real worker with quick retries, loading the result test handlers."""

    def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        fast = {"DISTRITASK_RETRY_BACKOFF": "0.05", "DISTRITASK_HEARTBEAT_TTL": "2"}
        return spawn("worker", "--tasks", TASKS, *args, env={**fast, **(env or {})})

    return _start


async def wait_online(store: TaskStore, count: int = 1, within: float = 20.0) -> None:
    async def online() -> bool:
        return sum(w.online for w in await store.workers()) >= count

    await eventually(online, within=within, interval=0.05)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Client]:
    async with Client(redis_url) as opened:
        yield opened
