"""A real manager (uvicorn on a free port, in a thread of its own) per test."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from backend.config import load_settings
from backend.manager.app import create_app


@contextlib.contextmanager
def serving(app: FastAPI, timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; its base URL. Stopped on exit."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="manager", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive(), "the manager did not start"
        assert time.monotonic() < deadline, "the manager did not start in time"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)
    return result


StartManager = Callable[..., str]


@pytest.fixture
def start_manager(redis_url: str) -> Iterator[StartManager]:
    """Start a manager with these settings; its base URL once its task view is loaded."""
    with contextlib.ExitStack() as stack:

        def start(url: str | None = None, **overrides: Any) -> str:
            target = url or redis_url
            app = create_app(load_settings(redis_url=target, **overrides), target)
            base = stack.enter_context(serving(app))
            if url is None:
                wait_until(
                    lambda: httpx.get(base + "/stats").json().get("complete"), what="task view"
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
