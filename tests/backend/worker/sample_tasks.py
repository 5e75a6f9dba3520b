"""A user tasks module, as ``--tasks tests.backend.worker.sample_tasks`` loads it."""

from __future__ import annotations

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
