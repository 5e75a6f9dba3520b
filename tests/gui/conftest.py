"""GUI fixtures: an isolated QSettings, a qasync loop per test, and a live panel.

Tests here are plain (sync) functions driven by ``qtbot``: the ``qloop`` fixture makes
a ``qasync.QEventLoop(qapp, already_running=True)`` the current loop, so
``qtbot.waitUntil`` and clicks also run the bridge's asyncio tasks. Never call
``qtbot.waitUntil`` from an ``async def`` test (see NOTES.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend.connection import client
from backend.store import TaskStore
from distritask_gui.bridge import Bridge
from distritask_gui.window import MainWindow

T = TypeVar("T")


@pytest.fixture(autouse=True)
def isolated_settings(qapp: QApplication, tmp_path: Path) -> None:
    """QSettings in this test's directory, never the user's."""
    qapp.setOrganizationName("DistritaskTests")
    qapp.setApplicationName("distritask-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    deadline = time.monotonic() + 5
    while any(not t.done() for t in leftovers) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    # already_running=True marked this loop as the running one (qasync calls
    # asyncio's _set_running_loop); unmark it, or async tests after this one fail
    # with "cannot be called from a running event loop".
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


Run = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture
def run_async(qloop: asyncio.AbstractEventLoop, qtbot: QtBot) -> Run[Any]:
    """Run a coroutine on the panel's loop and return its result (waits up to 10 s)."""

    def _run(coro: Coroutine[Any, Any, T]) -> T:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=10_000)
        return task.result()

    return _run


def with_store(
    url: str,
    run_async: Run[Any],
    work: Callable[[TaskStore], Awaitable[T]],
    *,
    ensure_group: bool = False,
    **options: Any,
) -> T:
    """What ``work`` returns, run from a sync test on a store of its own for ``url``
    (made with ``options``; with ``ensure_group``, its consumer group made first)."""

    async def go() -> T:
        redis_client = client(url)
        try:
            store = TaskStore(redis_client, **options)
            if ensure_group:
                await store.ensure_group()
            return await work(store)
        finally:
            await redis_client.aclose()

    result: T = run_async(go())
    return result


Open = Callable[..., MainWindow]


@pytest.fixture
def open_panel(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, run_async: Run[Any]
) -> Iterator[Open]:
    """Open a panel on ``url`` (shown offscreen); each is stopped at the end of the test."""
    opened: list[MainWindow] = []

    def _open(url: str, *, connected: bool = True) -> MainWindow:
        bridge = Bridge(url, poll_interval=0.2, offline_after=1.0)
        window = MainWindow(bridge)
        qtbot.addWidget(window)
        window.resize(1300, 800)
        window.show()
        bridge.start()
        opened.append(window)
        if connected:
            qtbot.waitUntil(lambda: bridge.state == "connected", timeout=10_000)
        return window

    yield _open
    for window in opened:
        run_async(window.bridge.stop())
