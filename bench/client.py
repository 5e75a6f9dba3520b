"""The client (:mod:`backend.client`): ``submit_many`` and ``result()``.

1. **submit_many**: one call queues ``count`` ``noop`` tasks (no worker running); the
   figure is tasks per second, the best of :data:`~.raw.REPEATS` calls (on an emptied
   server each time), compared with the pipelined XADD rate of the same run: the raw
   part's, which is the best of as many runs.
2. **result()**: with one idle worker process, one ``noop`` at a time: the time from
   calling ``submit`` to ``result()`` returning its value; with the client on asyncio's
   own loop (the target's figure), then on uvloop. For the first, what each of the
   three processes on the path spent per round trip: the client (this process's CPU
   time), the worker (``/proc``: Linux only) and the server (``INFO cpu``). On a
   machine with as few cores as processes, the round trip costs about their sum.
"""

from __future__ import annotations

import asyncio
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import connection, loops
from backend.client import Client
from backend.store import TaskStore

from .end_to_end import BenchError, Workers
from .raw import REPEATS
from .stats import ms, percentile, rate, server_cpu

WARM_UP = 10


@dataclass
class ClientResult:
    tasks: int
    submit_many_per_s: float
    result_p50_ms: float
    result_p99_ms: float
    uvloop_p50_ms: float
    """The same with the client on uvloop (``nan`` where uvloop is not installed)."""
    uvloop_p99_ms: float
    cpu_us: dict[str, float]
    """CPU per round trip of the client, the worker and the server, in µs (``nan``: not
    measured here)."""

    def details(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def _online(store: TaskStore, within: float, workers: Workers) -> None:
    deadline = time.monotonic() + within
    while not any(worker.online for worker in await store.workers()):
        workers.check()
        if time.monotonic() > deadline:
            raise BenchError(f"the worker did not come online within {within:g} s")
        await asyncio.sleep(0.05)


async def _submit_many(url: str, count: int) -> float:
    """``submit_many`` of ``count`` tasks: tasks per second, the best of :data:`REPEATS`."""
    redis = connection.client(url, timeout=None)
    try:
        await redis.flushdb()
        async with Client(url) as client:
            specs = [("noop",)] * count
            submit_rate = 0.0
            for _ in range(REPEATS):  # the best run, as for the raw XADD rate
                started = time.perf_counter()
                await client.submit_many(specs)
                submit_rate = max(submit_rate, rate(count, time.perf_counter() - started))
                await redis.flushdb()
        return submit_rate
    finally:
        await redis.flushdb()
        await redis.aclose()


async def _results(
    url: str, samples: int, workers: Workers
) -> tuple[list[float], dict[str, float]]:
    """Seconds from calling ``submit`` to ``result()`` returning, one ``noop`` at a time,
    and what each process (client, worker, server) spent per round trip, in µs."""
    async with Client(url) as client:
        store = await client.store()
        await _online(store, 30.0, workers)
        took: list[float] = []
        for _ in range(WARM_UP):
            await client.result(await client.submit("noop", max_retries=0), 10.0)
        before = await _spent(store, workers)
        for _ in range(samples):
            began = time.perf_counter()
            await client.result(await client.submit("noop", max_retries=0), 10.0)
            took.append(time.perf_counter() - began)
        after = await _spent(store, workers)
        workers.check()
    return took, {who: (after[who] - before[who]) * 1e6 / samples for who in after}


async def _spent(store: TaskStore, workers: Workers) -> dict[str, float]:
    """CPU seconds so far of this process, the (first) worker and the server."""
    info = await store.redis.info("cpu")
    return {
        "client": time.process_time(),
        "worker": _process_cpu(workers.processes[0].pid),
        "server": server_cpu(info),
    }


def _process_cpu(pid: int) -> float:
    """Another process's CPU seconds (user + system), from /proc; ``nan`` elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, count: int, samples: int) -> ClientResult:
    """Both measures; ``result()`` first with the client on asyncio's own loop (what an
    application gets by default), then on uvloop (what it gets with ``uvloop.run``),
    against the same idle worker process."""
    submit_rate = asyncio.run(_submit_many(url, count))
    with tempfile.TemporaryDirectory(prefix="distritask-bench-logs-") as logs:
        sync = connection.sync_client(url, timeout=None)
        try:
            with Workers(url, 1, None, Path(logs)) as workers:
                took, cpu_us = asyncio.run(_results(url, samples, workers))
                on_uvloop = (
                    loops.run(_results(url, samples, workers))[0]
                    if loops.kind() == "uvloop"
                    else []
                )
        finally:
            sync.flushdb()
            sync.close()
    return ClientResult(
        tasks=count,
        submit_many_per_s=submit_rate,
        result_p50_ms=ms(percentile(took, 50)),
        result_p99_ms=ms(percentile(took, 99)),
        uvloop_p50_ms=ms(percentile(on_uvloop, 50)) if on_uvloop else math.nan,
        uvloop_p99_ms=ms(percentile(on_uvloop, 99)) if on_uvloop else math.nan,
        cpu_us=cpu_us,
    )
