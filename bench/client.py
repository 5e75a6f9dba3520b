"""The client (:mod:`backend.client`): ``submit_many`` and ``result()``.

1. **submit_many**: one call queues ``count`` ``noop`` tasks (no worker running); the
   figure is tasks per second, the best of :data:`~.raw.REPEATS` calls (on an emptied
   server each time), compared with the pipelined XADD rate of the same run: the raw
   part's, which is the best of as many runs.
2. **result()**: with one idle worker process, one ``noop`` at a time: the time from
   calling ``submit`` to ``result()`` returning its value; with the client on asyncio's
   own loop (the target's figure), then on uvloop.
"""

from __future__ import annotations

import asyncio
import math
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
from .stats import ms, percentile, rate

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


async def _results(url: str, samples: int, workers: Workers) -> list[float]:
    """Seconds from calling ``submit`` to ``result()`` returning, one ``noop`` at a time."""
    async with Client(url) as client:
        store = await client.store()
        await _online(store, 30.0, workers)
        took: list[float] = []
        for _ in range(samples + WARM_UP):
            began = time.perf_counter()
            await client.result(await client.submit("noop", max_retries=0), 10.0)
            took.append(time.perf_counter() - began)
        workers.check()
    return took[WARM_UP:]


def measure(url: str, count: int, samples: int) -> ClientResult:
    """Both measures; ``result()`` first with the client on asyncio's own loop (what an
    application gets by default), then on uvloop (what it gets with ``uvloop.run``),
    against the same idle worker process."""
    submit_rate = asyncio.run(_submit_many(url, count))
    with tempfile.TemporaryDirectory(prefix="distritask-bench-logs-") as logs:
        sync = connection.sync_client(url, timeout=None)
        try:
            with Workers(url, 1, None, Path(logs)) as workers:
                took = asyncio.run(_results(url, samples, workers))
                on_uvloop = (
                    loops.run(_results(url, samples, workers)) if loops.kind() == "uvloop" else []
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
    )
