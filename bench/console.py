"""The console part: filters and free-text search over a million retained task states.

Setup writes the states straight through the write script (the one a worker's outbox
uses: it stores the states and keeps the indexes), several batches in flight, so no
stream entries or status messages are made. Then each kind of filter (status, name,
queue, worker, id prefix, a combination, a time range) is asked with random values,
a page of 50 each, timed end to end through :meth:`TaskStore.find` (the ids from the
indexes, then the states of the page); and a free-text search is timed to its first
page. The load average is recorded beside the figures: the machine may be shared.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from typing import Any

from backend.connection import client
from backend.protocol import TaskStatus
from backend.store import TaskStore
from backend.task_filter import TaskFilter

from .report import Row, at_most
from .stats import percentile

TARGET_MS = 300.0
PAGE = 50
NAMES = [f"task_{i}" for i in range(20)]
WORKERS = [f"worker-{i}" for i in range(16)]
QUEUES = ["default", "high", "low"]
STATUS_WEIGHTS = {
    TaskStatus.COMPLETED: 0.80,
    TaskStatus.FAILED: 0.08,
    TaskStatus.CANCELLED: 0.02,
    TaskStatus.PENDING: 0.06,
    TaskStatus.PROCESSING: 0.04,
}
STATUSES, WEIGHTS = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
MESSAGES = {
    TaskStatus.COMPLETED: "Task execution finalized successfully",
    TaskStatus.FAILED: "Handler raised",
    TaskStatus.CANCELLED: "Cancelled by the user",
    TaskStatus.PENDING: "Task queued",
}
WRITE_BATCH = 500
"""States per write script: each script blocks the server while it runs, and a starved
server (a million states, an append-only rewrite, a loaded machine) took a 2,000-state
one past its 5 s busy threshold, so the next command got BUSY."""
IN_FLIGHT = 4
Make = Callable[[random.Random], TaskFilter]


_STATE = (
    '{"id":"%s","name":"%s","queue":"%s","status":"%s","worker":"%s","message":"%s",'
    '"time":"12:00:00","progress":%d,"attempt":1,"seq":2,"created":%r,"updated":%r%s,'
    '"payload":{"n":%d},"max_retries":3,'
    '"history":[{"status":"pending","ts":%r,"worker":"manager","attempt":1}]}'
)


def _state(rng: random.Random, i: int, start: float, span: float) -> tuple[str, str]:
    """A retained state of any kind: its id and its JSON (the fields of
    :class:`TaskState` in their order, as the worker's encoder writes them; made from
    a template, as fast as a million need)."""
    status = rng.choices(STATUSES, weights=WEIGHTS)[0]
    created = start + span * i / 1_000_000 + rng.random() * 0.001
    finished = created + rng.random() * 5 if status.terminal else None
    error = "TimeoutError: upstream took 30 s" if status is TaskStatus.FAILED else None
    if error and rng.random() < 0.1:
        error = "ConnectionResetError: peer went away (needle-rare)"
    task_id = f"{rng.getrandbits(128):032x}"
    ended = "" if finished is None else f',"finished":{finished!r}'
    if error:
        ended += f',"error":"{error}"'
    state = _STATE % (
        task_id,
        rng.choice(NAMES),
        rng.choice(QUEUES),
        status.value,
        "manager" if status is TaskStatus.PENDING else rng.choice(WORKERS),
        MESSAGES.get(status, "Allocating resources"),
        100 if status is TaskStatus.COMPLETED else 0,
        created,
        finished or created,
        ended,
        i,
        created,
    )
    return task_id, state


async def write_states(store: TaskStore, count: int) -> tuple[float, list[str]]:
    """Write ``count`` states; seconds taken and a sample of ids."""
    rng = random.Random(13)
    start, span = time.time() - 86_400, 86_400.0
    began = time.monotonic()
    sample: list[str] = []
    running: set[asyncio.Task[None]] = set()
    for first in range(0, count, WRITE_BATCH):
        batch = {}
        for i in range(first, min(first + WRITE_BATCH, count)):
            task_id, raw = _state(rng, i, start, span)
            batch[task_id] = raw
            if i % 997 == 0:
                sample.append(task_id)
        running.add(asyncio.ensure_future(store.write([], batch, {})))
        if len(running) >= IN_FLIGHT:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    if running:
        await asyncio.gather(*running)
    return time.monotonic() - began, sample


async def _time(
    store: TaskStore, make: Callable[[random.Random], TaskFilter], n: int
) -> list[float]:
    rng = random.Random(5)
    times = []
    for _ in range(n):
        wanted = make(rng)
        began = time.perf_counter()
        await store.find(wanted, limit=PAGE)
        times.append((time.perf_counter() - began) * 1000)
    return times


async def _measure(url: str, count: int, samples: int) -> dict[str, Any]:
    redis = client(url, timeout=120.0)  # a loaded shared machine: scripts may queue
    try:
        store = TaskStore(redis, retention=count)
        load_s, ids = await write_states(store, count)
        now = time.time()
        kinds: dict[str, Make] = {
            "status": lambda r: TaskFilter(status=r.choice(["failed", "completed", "pending"])),
            "name": lambda r: TaskFilter(name=r.choice(NAMES)),
            "queue": lambda r: TaskFilter(queue=r.choice(QUEUES)),
            "worker": lambda r: TaskFilter(worker=r.choice(WORKERS)),
            "id prefix": lambda r: TaskFilter(id_prefix=r.choice(ids)[:4]),
            "status+name+worker": lambda r: TaskFilter(
                status="failed", name=r.choice(NAMES), worker=r.choice(WORKERS)
            ),
            "name, last hour": lambda r: TaskFilter(name=r.choice(NAMES), since=now - 3600),
            "free text, first page": lambda r: TaskFilter(q=r.choice(["timeout", "upstream"])),
            "free text, rare": lambda r: TaskFilter(q="needle-rare"),
        }
        results: dict[str, Any] = {"states": count, "load_s": round(load_s, 1)}
        results["load_before"] = os.getloadavg()
        for kind, make in kinds.items():
            times = await _time(store, make, samples)
            results[kind] = {
                "p50_ms": round(percentile(times, 50), 2),
                "p95_ms": round(percentile(times, 95), 2),
            }
        results["load_after"] = os.getloadavg()
        memory = await redis.info("memory")
        results["used_memory_mb"] = round(int(memory["used_memory"]) / 1e6)
        return results
    finally:
        await redis.aclose()


def measure(url: str, count: int, samples: int) -> dict[str, Any]:
    return asyncio.run(_measure(url, count, samples))


def console_rows(result: dict[str, Any]) -> list[Row]:
    count = result["states"]
    rows = [Row("console", f"write {count:,} states with indexes", result["load_s"], "s")]
    for kind, figures in result.items():
        if not isinstance(figures, dict):
            continue
        measure = f"{kind} filter over {count:,}, page of {PAGE}, p95"
        if kind.startswith("free text"):
            measure = f"{kind} over {count:,}, p95"
        row = Row("console", measure, figures["p95_ms"], "ms")
        rows.append(at_most(row, TARGET_MS) if kind != "free text, rare" else row)
    load = result.get("load_after")
    if load:
        rows.append(Row("console", "load average (1 min) after, shared machine", load[0], ""))
    return rows
