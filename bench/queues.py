"""Named queues and delayed tasks, with real worker processes.

* **Delayed tasks on time.** 1,000 ``noop`` tasks delayed to due times spread over two
  seconds, with two workers running (their promoters move the tasks). A task's
  lateness is the time its stream entry was added (the entry id's milliseconds: the
  server's clock at the PROMOTE script) minus its due time.
* **Three queues cost nothing.** The same ``noop`` tasks through two worker processes,
  once all on ``default`` and once spread round-robin over ``high,default,low`` (workers
  with ``--queues high,default,low``), in the same run: tasks per second from the
  first start to the last finish, as the end-to-end part measures it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from backend import connection, keys
from backend.protocol import Task, decode_task
from backend.store import TaskStore

from .end_to_end import CHUNK, BenchError, Workers, _span, _wait_completed
from .report import Row, at_least, at_most
from .stats import ms, percentile, rate

DELAYED = 1000
DELAY_SPREAD = 2.0
"""Seconds the due times spread over (from one second after submitting)."""
QUEUES = ("high", "default", "low")
PROCESSES = 2
TARGET_LATENESS_MS = 100.0
THREE_QUEUES_SHARE = 0.9
"""Three queues should keep at least this share of one queue's throughput (noise)."""


class QueueWorkers(Workers):
    """:class:`Workers` reading ``queues`` in that order."""

    def __init__(self, url: str, count: int, logs: Path, queues: tuple[str, ...]) -> None:
        super().__init__(url, count, None, logs)
        self.queues = queues

    def command(self, index: int) -> list[str]:
        return [*super().command(index), "--queues", ",".join(self.queues)]


async def _delayed(url: str, logs: Path) -> dict[str, float]:
    redis = connection.client(url, timeout=None)
    try:
        await redis.flushdb()
        store = TaskStore(redis)
        with QueueWorkers(url, PROCESSES, logs, ("default",)) as workers:
            await store.ensure_group()
            await _online(store, workers)  # their promoters run: lateness is not start-up
            start = time.time() + 1.0
            tasks = [
                Task(name="noop", max_retries=0, due=start + DELAY_SPREAD * i / DELAYED)
                for i in range(DELAYED)
            ]
            await store.submit(tasks)
            await _wait_completed(store, DELAYED, workers, within=60.0)
        late: list[float] = []
        for entry_id, fields in await redis.xrange(keys.TASK_STREAM):
            task = decode_task(fields[keys.TASK_FIELD.encode()])
            added = int(entry_id.split(b"-")[0]) / 1000
            late.append(added - (task.due or added))
        return {
            "tasks": len(late),
            "lateness_p50_ms": ms(percentile(late, 50)),
            "lateness_p99_ms": ms(percentile(late, 99)),
            "lateness_max_ms": ms(max(late)),
            "early": sum(1 for value in late if value < -0.001),
        }
    finally:
        await redis.flushdb()
        await redis.aclose()


async def _online(store: TaskStore, workers: Workers, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while sum(info.online for info in await store.workers()) < workers.count:
        workers.check()
        if time.monotonic() > deadline:
            raise BenchError(f"the workers were not online within {within:g} s")
        await asyncio.sleep(0.05)


async def _throughput(url: str, logs: Path, tasks: int, queues: tuple[str, ...]) -> float:
    redis = connection.client(url, timeout=None)
    try:
        await redis.flushdb()
        store = TaskStore(redis)
        await store.ensure_groups(queues)
        for first in range(0, tasks, CHUNK):
            batch = range(first, min(first + CHUNK, tasks))
            await store.submit(
                [Task(name="noop", max_retries=0, queue=queues[i % len(queues)]) for i in batch]
            )
        with QueueWorkers(url, PROCESSES, logs, queues) as workers:
            await _wait_completed(store, tasks, workers, within=max(60.0, tasks / 200))
        began, last, _ = await _span(store)
        return rate(tasks, last - began)
    finally:
        await redis.flushdb()
        await redis.aclose()


def measure(url: str, tasks: int) -> dict[str, Any]:
    """The delayed-task lateness and the 1-queue and 3-queue throughputs."""
    with tempfile.TemporaryDirectory(prefix="distritask-bench-queues-") as folder:
        logs = Path(folder)
        delayed = asyncio.run(_delayed(url, logs))
        one = asyncio.run(_throughput(url, logs, tasks, ("default",)))
        three = asyncio.run(_throughput(url, logs, tasks, QUEUES))
    return {"delayed": delayed, "tasks": tasks, "one_queue_per_s": one, "three_queues_per_s": three}


def queue_rows(result: dict[str, Any], limit: float) -> list[Row]:
    delayed = result["delayed"]
    count = int(delayed["tasks"])
    ratio = (lambda value: value / limit) if limit > 0 else (lambda value: float("nan"))
    one, three = result["one_queue_per_s"], result["three_queues_per_s"]
    return [
        Row("queues", f"{count:,} delayed tasks: lateness p50", delayed["lateness_p50_ms"], "ms"),
        at_most(
            Row(
                "queues", f"{count:,} delayed tasks: lateness p99", delayed["lateness_p99_ms"], "ms"
            ),
            TARGET_LATENESS_MS,
        ),
        Row("queues", f"throughput, 1 queue, {PROCESSES} worker procs", one, "/s", ratio(one)),
        at_least(
            Row(
                "queues",
                f"throughput, 3 queues, {PROCESSES} worker procs",
                three,
                "/s",
                ratio(three),
            ),
            one * THREE_QUEUES_SHARE,
        ),
    ]
