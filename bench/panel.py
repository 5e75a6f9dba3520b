"""The panel under load: record a snapshot, then run :mod:`.panel_probe` on it.

The snapshot is written through the write script a worker's outbox uses
(``TaskStore.write``: it stores the states and keeps the indexes the board and the
console read), in batches of :data:`CHUNK` with :data:`IN_FLIGHT` in flight: TASKS
tasks spread over four workers, one in twenty failed, the newest
:data:`WAITING_SHARE` still waiting and a few running. Each state's JSON is made
from a template (as the worker's encoder writes it), so a million are written in
about a minute on a quiet machine. The server's append-only file is then rewritten
before the probe starts (:func:`settle`). The probe runs in its own process so its
resident memory is the panel's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from typing import Any

from redis.exceptions import ResponseError

from backend import messages as said
from backend.connection import client, sync_client
from backend.store import SUBMIT_SOURCE, TaskStore

CHUNK = 5000
SETTLE_LIMIT = 300.0
"""Seconds :func:`settle` waits for the append-only file's rewrite at most."""
IN_FLIGHT = 2
WORKERS = 4
WAITING_SHARE = 0.01
"""The newest tasks of the snapshot that still wait in the queue (one in a hundred)."""
RUNNING = 8
"""Tasks of the snapshot that run (two per worker), just older than the waiting ones."""
_STATE = (
    '{"id":"%s","name":"noop","queue":"default","status":"%s","worker":"%s",'
    '"message":"%s","time":"12:00:00","progress":%d,"attempt":%d,"seq":%d,'
    '"created":%r,"updated":%r%s,"max_retries":0}'
)


def _state(index: int, tasks: int, start: float) -> tuple[str, str]:
    """Task ``index`` of ``tasks``: its id and its state's JSON."""
    task_id = uuid.uuid4().hex
    created = start + index * 0.001
    waiting = tasks - max(1, int(tasks * WAITING_SHARE))
    worker = f"bench-w{index % WORKERS + 1}"
    if index >= waiting:
        fields = ("pending", SUBMIT_SOURCE, said.QUEUED, 0, 0, 0)
    elif index >= waiting - RUNNING:
        fields = ("processing", worker, said.STARTED, 40, 1, 1)
    elif index % 20 == 0:
        fields = ("failed", worker, "boom", 0, 1, 2)
    else:
        fields = ("completed", worker, said.COMPLETED, 100, 1, 2)
    finished = ""
    if fields[0] in ("failed", "completed"):
        finished = f',"finished":{created + 0.002!r}'
        if fields[0] == "failed":
            finished += ',"error":"RuntimeError: boom"'
    return task_id, _STATE % (task_id, *fields, created, created + 0.002, finished)


async def write_snapshot(url: str, tasks: int) -> float:
    """Write ``tasks`` states with their indexes; the seconds it took."""
    redis = client(url, timeout=120.0)  # a shared machine: scripts may queue
    began = time.monotonic()
    try:
        store = TaskStore(redis, retention=max(tasks, 100))
        start = time.time() - tasks * 0.001 - 60
        running: set[asyncio.Task[None]] = set()
        for first in range(0, tasks, CHUNK):
            batch = dict(_state(i, tasks, start) for i in range(first, min(tasks, first + CHUNK)))
            running.add(asyncio.ensure_future(store.write([], batch, {})))
            if len(running) >= IN_FLIGHT:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        await asyncio.gather(*running)
    finally:
        await redis.aclose()
    return time.monotonic() - began


def settle(url: str, within: float = SETTLE_LIMIT) -> float:
    """Rewrite the server's append-only file now and wait for it to end (the seconds
    it took): a million writes start a rewrite, a fork copying the data set, which on
    a small machine would otherwise compete with the panel during the phases."""
    began = time.monotonic()
    with sync_client(url, timeout=None) as redis:
        if not int(redis.info("persistence").get("aof_enabled", 0)):
            return 0.0
        with contextlib.suppress(ResponseError):  # one is already running: wait for it
            redis.bgrewriteaof()
        while time.monotonic() - began < within:
            state = redis.info("persistence")
            if not (int(state["aof_rewrite_in_progress"]) or int(state["aof_rewrite_scheduled"])):
                break
            time.sleep(0.2)
    return time.monotonic() - began


def measure(url: str, tasks: int, seconds: float, rates: list[int]) -> dict[str, Any]:
    written = asyncio.run(write_snapshot(url, tasks))
    settled = settle(url)
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
    result["write_s"] = written
    result["aof_rewrite_s"] = settled
    return result
