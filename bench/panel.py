"""The panel under load: record a snapshot, then run :mod:`.panel_probe` on it.

The snapshot is written the way workers write it (``TaskStore.record``): TASKS
finished tasks spread over four workers, one in twenty failed. The probe runs in its
own process so its resident memory is the panel's alone.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

from backend import connection
from backend import messages as said
from backend.protocol import Task, TaskStatus, make_update
from backend.state import TaskState
from backend.store import TaskStore

CHUNK = 5000
WORKERS = 4


def _finished(index: int) -> list[tuple[TaskState, Any]]:
    task = Task(name="noop", max_retries=0)
    state = TaskState.from_task(task)
    worker = f"bench-w{index % WORKERS + 1}"
    changes = []
    for seq, status in enumerate((TaskStatus.PENDING, TaskStatus.PROCESSING), start=0):
        state.apply(make_update(task.id, status, worker=worker, attempt=1, seq=seq, name="noop"))
    failed = index % 20 == 0
    last = make_update(
        task.id,
        TaskStatus.FAILED if failed else TaskStatus.COMPLETED,
        worker=worker,
        message="boom" if failed else said.COMPLETED,
        attempt=1,
        seq=2,
        name="noop",
        error="RuntimeError: boom" if failed else None,
    )
    state.apply(last)
    changes.append((state, last))
    return changes


async def write_snapshot(url: str, tasks: int) -> None:
    redis = connection.client(url, timeout=None)
    try:
        store = TaskStore(redis, retention=max(tasks, 100))
        for first in range(0, tasks, CHUNK):
            changes = [c for i in range(first, min(tasks, first + CHUNK)) for c in _finished(i)]
            await store.record(changes)
    finally:
        await redis.aclose()


def measure(url: str, tasks: int, seconds: float, rates: list[int]) -> dict[str, Any]:
    asyncio.run(write_snapshot(url, tasks))
    limit = 120 + len(rates) * (seconds + 40)
    command = [
        sys.executable,
        "-m",
        f"{__package__}.panel_probe",
        url,
        str(tasks),
        str(seconds),
        *map(str, rates),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the panel probe did not finish within {limit:g} s") from exc
    if done.returncode != 0 or not done.stdout.strip():
        noise = "This plugin does not support propagateSizeHints()"
        errors = "\n".join(line for line in done.stderr.splitlines() if line != noise)
        raise RuntimeError(f"the panel probe failed ({done.returncode}):\n{errors[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
