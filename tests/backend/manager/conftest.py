"""A real manager (uvicorn on a free port, in a thread of its own) per test."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from backend.config import load_settings
from backend.manager.app import create_app
from tests.conftest import Spawn, free_port, manager_answers
from tests.waiting import eventually_sync


@contextlib.contextmanager
def serving(app: FastAPI, timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; its base URL. Stopped on exit."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="manager", daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "the manager did not start"
        return bool(server.started)

    eventually_sync(started, within=timeout, what="the manager to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


StartManager = Callable[..., str]


@pytest.fixture
def start_manager(redis_url: str) -> Iterator[StartManager]:
    """Start a manager with these settings; its base URL once it follows ``task_updates``
    (so an update a test publishes is heard)."""
    with contextlib.ExitStack() as stack:

        def start(url: str | None = None, **overrides: Any) -> str:
            target = url or redis_url
            app = create_app(load_settings(redis_url=target, **overrides), target)
            base = stack.enter_context(serving(app))
            if url is None:
                eventually_sync(
                    lambda: httpx.get(base + "/stats").json().get("complete"), what="following"
                )
            return base

        yield start


@pytest.fixture
def manager(start_manager: StartManager) -> str:
    return start_manager()


@pytest.fixture
async def http(manager: str) -> Any:
    async with httpx.AsyncClient(base_url=manager, timeout=10.0) as client:
        yield client


class ManagerProcess(NamedTuple):
    url: str
    process: subprocess.Popen[bytes]


SpawnManager = Callable[..., ManagerProcess]


@pytest.fixture
def spawn_manager(spawn: Spawn) -> SpawnManager:
    """Start ``distritask manager`` as a real process (``args``: its flags, ``env``: its
    environment); its base URL and process once it answers."""

    def start(*args: str, env: dict[str, str] | None = None) -> ManagerProcess:
        port = free_port()
        process = spawn("manager", "--port", str(port), *args, env=env)
        base = f"http://127.0.0.1:{port}"
        eventually_sync(manager_answers(base, process), within=30)
        return ManagerProcess(base, process)

    return start
