"""Scripted runs of the real panel: ``--self-test`` and ``--screenshot PATH``.

Both drive the same window, bridge and models as a person would, offscreen, and
return the process's exit status.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from backend.protocol import DEFAULT_TASK, TaskStatus
from backend.waiting import wait_until
from distritask_gui.connection import ConnectionState
from distritask_gui.window import MainWindow

CONNECT_TIMEOUT = 30.0
SELF_TEST_TASKS = 6
SELF_TEST_TIMEOUT = 60.0
SCREENSHOT_SIZE = (1480, 900)
WORKER_WAIT = 10.0
"""Seconds the screenshot waits to see a worker (a heartbeat, or a Go worker's update)
before it submits anyway (a Go worker shows only once it has tasks)."""


async def self_test(window: MainWindow, count: int = SELF_TEST_TASKS) -> int:
    """Submit ``count`` quick tasks and wait for all of them to complete; exit status."""
    started = time.monotonic()
    window.resize(1200, 800)
    window.show()
    tasks = window.tasks
    try:
        await wait_until(
            lambda: window.bridge.state is ConnectionState.CONNECTED,
            CONNECT_TIMEOUT,
            f"a connection to {window.bridge.address}",
        )
        states = await window.bridge.actions.submit_tasks("noop", None, count - count // 2)
        states += await window.bridge.actions.submit_tasks(
            DEFAULT_TASK, {"seconds": 0.3}, count // 2
        )
        ids = [s.id for s in states]

        def finished() -> bool:
            return all((s := tasks.state(i)) is not None and s.status.terminal for i in ids)

        await wait_until(finished, SELF_TEST_TIMEOUT, f"{count} tasks to finish")
    except TimeoutError as exc:
        print(
            f"self-test failed: timed out waiting for {exc} ({_summary(window)})",
            file=sys.stderr,
        )
        return 1
    bad = [
        s for i in ids if (s := tasks.state(i)) is not None and s.status is not TaskStatus.COMPLETED
    ]
    if bad:
        print(
            f"self-test failed: task {bad[0].name} #{bad[0].id[:6]} ended {bad[0].status.value}: "
            f"{bad[0].error or bad[0].message}",
            file=sys.stderr,
        )
        return 1
    workers = sorted({s.worker for i in ids if (s := tasks.state(i)) is not None})
    print(
        f"self-test passed: {count} tasks completed by {', '.join(workers)} "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


async def screenshot(window: MainWindow, path: Path) -> int:
    """Run a short demo, render the window mid-run into ``path``; exit status."""
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    bridge, tasks = window.bridge, window.tasks
    try:
        await wait_until(
            lambda: bridge.state is ConnectionState.CONNECTED, CONNECT_TIMEOUT, "a connection"
        )
        try:
            # a worker shows by its heartbeat, as a reading consumer of the group (a Go
            # worker sends no heartbeat), or by its updates
            await wait_until(
                lambda: window.board.reading or any(e.online for e in window.workers.entries()),
                WORKER_WAIT,
                "a worker",
            )
        except TimeoutError:
            print(
                "screenshot: no worker seen yet (no heartbeat, no update); submitting anyway",
                file=sys.stderr,
            )
        await bridge.actions.submit_tasks(DEFAULT_TASK, {"seconds": 1.0}, 5)
        await bridge.actions.submit_tasks(
            "fail", {"message": "node-7: disk quota exceeded"}, 1, max_retries=0
        )
        await bridge.actions.submit_tasks(DEFAULT_TASK, {"seconds": 7.0}, 6)
        await bridge.actions.submit_tasks(DEFAULT_TASK, None, 5)

        def mid_run() -> bool:
            totals = tasks.totals()
            running = [s for s in tasks.states() if s.status is TaskStatus.PROCESSING]
            return (
                totals[TaskStatus.COMPLETED] >= 5
                and any(s.progress >= 40 for s in running)
                and window.footer.rate() > 0
            )

        await wait_until(mid_run, 30, "the demo to be mid-run")
    except TimeoutError as exc:
        print(f"screenshot: gave up waiting for {exc}; rendering as is", file=sys.stderr)
    tasks.flush()
    await asyncio.sleep(0.1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        print(f"screenshot: could not write {path}", file=sys.stderr)
        return 1
    print(f"screenshot saved to {path}")
    return 0


def _summary(window: MainWindow) -> str:
    totals = window.tasks.totals()
    known = ", ".join(f"{n} {s.value}" for s, n in totals.items() if n) or "no tasks seen"
    workers = sum(1 for e in window.workers.entries() if e.online)
    return f"{known}; {workers} worker(s) online; broker {window.bridge.state.value}"
