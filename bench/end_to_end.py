"""End to end: ``noop`` tasks through real ``distritask worker`` processes.

For each process count, on an emptied database:

1. **submit**: ``TaskStore.submit`` in chunks of :data:`CHUNK`, no worker running, so
   the rate is the submitter's alone; also the server's time in the submit scripts
   (``INFO commandstats``, per 1,000 tasks);
2. **throughput**: the workers are started and run the queue down; the figure is
   tasks over the time from the first task's start (its ``processing`` timestamp) to
   the last one's completion, both read from the recorded states afterwards. While
   it runs the bench only polls the ``completed`` counter (one HGET every 10 ms), so
   watching costs the workers nothing; nobody is subscribed to ``task_updates``;
3. **latency**: with the same workers idle, one task at a time: the time from calling
   ``submit`` to receiving its ``completed`` update on ``task_updates``.

Workers run as users run them: ``distritask worker --concurrency C --name bench-K-I
--log-level WARNING``, status events and state recording on.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from backend import connection, keys
from backend.config import load_settings
from backend.processes import terminate_all
from backend.protocol import Task
from backend.store import TaskStore

from .stats import ms, percentile, rate

CHUNK = 500
POLL = 0.01
STOP_WAIT = 10.0
LOG_TAIL = 2000


@dataclass
class EndToEnd:
    processes: int
    tasks: int
    submit_per_s: float
    tasks_per_s: float
    seconds: float
    latency_p50_ms: float
    latency_p99_ms: float
    start_skew_s: float
    """Seconds between the first and the last worker's first task."""
    wall_s: float
    """Seconds from starting the workers to the last completion (includes start-up)."""
    submit_server_ms: float = 0.0
    """Milliseconds the server spent in the submit scripts, per 1,000 tasks."""
    extra: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        return dict(self.__dict__)


class BenchError(RuntimeError):
    """A part of the bench could not run (a worker died, a deadline passed)."""


class Workers:
    """``count`` real worker processes, always stopped on exit (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        url: str,
        count: int,
        concurrency: int | None,
        logs: Path,
        profile: Path | None = None,
    ) -> None:
        self.url = url
        self.count = count
        self.concurrency = concurrency
        self.logs = logs
        self.profile = profile
        self.processes: list[subprocess.Popen[bytes]] = []
        self.profilers: list[subprocess.Popen[bytes]] = []

    def command(self, index: int) -> list[str]:
        name = f"bench-{self.count}-{index}"
        command = [sys.executable, "-m", "backend.cli", "worker", "--name", name]
        if self.concurrency is not None:
            command += ["--concurrency", str(self.concurrency)]
        return [*command, "--log-level", "WARNING"]

    def __enter__(self) -> Workers:
        env = {**os.environ, "REDIS_URL": self.url, "PYTHONUNBUFFERED": "1"}
        for index in range(self.count):
            with open(self.logs / f"worker-{self.count}-{index}.log", "wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        self.command(index), stdout=log, stderr=subprocess.STDOUT, env=env
                    )
                )
        if self.profile is not None:
            self._attach(self.profile)
        return self

    def _attach(self, folder: Path) -> None:
        """Sample each worker with py-spy until it exits (speedscope JSON per worker)."""
        folder.mkdir(parents=True, exist_ok=True)
        for index, process in enumerate(self.processes):
            out = folder / f"worker-{self.count}-{index}.speedscope.json"
            command = ["py-spy", "record", "--pid", str(process.pid), "--rate", "250"]
            self.profilers.append(
                subprocess.Popen(
                    [*command, "--format", "speedscope", "--output", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def check(self) -> None:
        """Raise if a worker exited."""
        for index, process in enumerate(self.processes):
            if process.poll() is not None:
                log = (self.logs / f"worker-{self.count}-{index}.log").read_text(errors="replace")
                raise BenchError(
                    f"worker {index} exited with {process.returncode}:\n{log[-LOG_TAIL:]}"
                )

    def __exit__(self, *exc: object) -> None:
        terminate_all(self.processes, within=STOP_WAIT)
        for profiler in self.profilers:  # each ends (and writes) when its worker exits
            try:
                profiler.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                profiler.kill()
                profiler.wait()


async def _submit(store: TaskStore, count: int) -> tuple[float, float]:
    """The submit rate, and the server's milliseconds in scripts per 1,000 tasks."""
    before = await _script_usec(store.redis)
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        await store.submit(
            [Task(name="noop", max_retries=0) for _ in range(min(CHUNK, count - first))]
        )
    took = time.perf_counter() - started
    server_ms = (await _script_usec(store.redis) - before) / 1000
    return rate(count, took), server_ms * 1000 / max(count, 1)


async def _script_usec(redis: aioredis.Redis) -> int:
    """Microseconds the server has spent running scripts (EVAL, EVALSHA) so far."""
    stats = await redis.info("commandstats")
    return sum(
        int(value["usec"])
        for name, value in stats.items()
        if name in ("cmdstat_eval", "cmdstat_evalsha")
    )


async def _wait_completed(store: TaskStore, count: int, workers: Workers, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        done = (await store.counters()).get("completed", 0)
        if done >= count:
            return
        workers.check()
        if time.monotonic() > deadline:
            raise BenchError(f"only {done} of {count} tasks completed within {within:g} s")
        await asyncio.sleep(POLL)


async def _span(store: TaskStore) -> tuple[float, float, float]:
    """(first start, last finish, skew of the workers' first starts) from the states."""
    first_by_worker: dict[str, float] = {}
    last = 0.0
    async for states in store.snapshot():
        for state in states:
            began = state.started or state.finished
            if began is not None and state.worker:
                first_by_worker[state.worker] = min(began, first_by_worker.get(state.worker, began))
            last = max(last, state.finished or 0.0)
    firsts = list(first_by_worker.values()) or [0.0]
    return min(firsts), last, max(firsts) - min(firsts)


async def _latency(store: TaskStore, samples: int) -> list[float]:
    """Seconds from ``submit`` to receiving ``completed``, one task at a time."""
    took: list[float] = []
    async with await store.subscribe(keys.UPDATES_CHANNEL) as updates:
        for _ in range(samples + 10):
            task = Task(name="noop", max_retries=0)
            wanted = task.id.encode()
            started = time.perf_counter()
            await store.submit([task])
            deadline = started + 10.0
            while True:
                data = await updates.get(within=max(0.0, deadline - time.perf_counter()))
                if data is not None and wanted in data and b'"completed"' in data:
                    break
                if time.perf_counter() > deadline:
                    raise BenchError("a task did not complete within 10 s of its submission")
            took.append(time.perf_counter() - started)
    return took[10:]  # warm-up


async def _one(
    url: str,
    processes: int,
    tasks: int,
    samples: int,
    concurrency: int | None,
    logs: Path,
    profile: Path | None,
    classic_updates: bool = True,
) -> EndToEnd:
    redis = connection.client(url, timeout=None)
    try:
        await redis.flushdb()
        # the store the workers make: in a cluster, the queue sharded over every primary
        store = TaskStore.from_settings(redis, load_settings(classic_updates=classic_updates))
        await store.ensure_group()
        submit_rate, submit_server_ms = await _submit(store, tasks)
        with Workers(url, processes, concurrency, logs, profile) as workers:
            spawned = time.time()
            await _wait_completed(store, tasks, workers, within=max(60.0, tasks / 200))
            done = time.time()
            first, last, skew = await _span(store)
            took = await _latency(store, samples)
            workers.check()
        return EndToEnd(
            processes=processes,
            tasks=tasks,
            submit_per_s=submit_rate,
            tasks_per_s=rate(tasks, last - first),
            seconds=last - first,
            latency_p50_ms=ms(percentile(took, 50)),
            latency_p99_ms=ms(percentile(took, 99)),
            start_skew_s=skew,
            wall_s=done - spawned,
            submit_server_ms=submit_server_ms,
        )
    finally:
        await redis.flushdb()
        await redis.aclose()


def measure(
    url: str,
    tasks: int,
    processes: list[int],
    samples: int,
    concurrency: int | None = None,
    profile: Path | None = None,
) -> list[EndToEnd]:
    """One :class:`EndToEnd` per process count; ``profile``: a folder for py-spy profiles."""
    if profile is not None and shutil.which("py-spy") is None:
        raise BenchError("--profile needs py-spy: pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="distritask-bench-logs-") as logs:
        return [
            asyncio.run(_one(url, count, tasks, samples, concurrency, Path(logs), profile))
            for count in processes
        ]
