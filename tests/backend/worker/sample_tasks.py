"""A user tasks module, as ``--tasks tests.backend.worker.sample_tasks`` loads it."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

from backend.handlers import TaskContext, task


@task("checksum")
def checksum(ctx: TaskContext) -> int:
    """A plain function: runs in a thread and reports progress from there."""
    assert threading.current_thread() is not threading.main_thread()
    ctx.progress(50, f"summing {len(ctx.payload['data'])} bytes")
    time.sleep(0.1)  # blocking is fine here: this is not the event loop
    return sum(ctx.payload["data"].encode())


# -- handlers that misbehave (the worker must survive them, or be replaced cleanly) ----


@task("exit_process")
async def exit_process(ctx: TaskContext) -> None:
    """Kills its worker outright, before any status update: nothing can catch it."""
    os._exit(3)


@task("sys_exit")
def sys_exit(ctx: TaskContext) -> None:
    """A plain function calling sys.exit (SystemExit, raised in a thread)."""
    sys.exit(2)


@task("keyboard_interrupt")
async def keyboard_interrupt(ctx: TaskContext) -> None:
    raise KeyboardInterrupt


@task("sleep_sync")
def sleep_sync(ctx: TaskContext) -> None:
    """A plain function sleeping (an hour by default): its thread cannot be stopped."""
    time.sleep(float(ctx.payload.get("seconds", 3600)))


@task("stubborn")
async def stubborn(ctx: TaskContext) -> None:
    """Swallows every cancellation and carries on for ``seconds``."""
    end = time.monotonic() + float(ctx.payload.get("seconds", 3600))
    while time.monotonic() < end:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue


@task("cpu_bound")
async def cpu_bound(ctx: TaskContext) -> None:
    """Holds the event loop for ``seconds`` without ever yielding."""
    end = time.monotonic() + float(ctx.payload.get("seconds", 5))
    while time.monotonic() < end:
        pass
