"""The raw limit: the best a Streams worker could do on this server, with plain redis-py.

Pipelined XADDs fill the queue; then two consumer processes each loop on XREADGROUP
(COUNT 500) and answer every batch with one pipeline of XACK plus one PUBLISH per
entry, as a worker that acknowledges and reports each task must. No parsing, no
state: only the round trips. The same names as the real queue are used (the bench's
database is its own), and a status message of the real size is published.

Also measured, as the floor for latency: one idle consumer blocked in XREADGROUP,
and the time from an XADD to receiving the PUBLISH it answers with.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from typing import Any

import redis

from backend import connection, keys
from backend.protocol import Task, TaskStatus, encode_task, encode_update, make_update

from .stats import ms, percentile, rate

BATCH = 500
CONSUMERS = 2
REPEATS = 3
STOP_FIELD = "bench_stop"


def _entry() -> str:
    return encode_task(Task(name="noop"))


def _message(entry_id: bytes) -> str:
    update = make_update(
        entry_id.decode(), TaskStatus.COMPLETED, worker="raw-consumer", message="done", seq=2
    )
    return encode_update(update)


@dataclass
class RawResult:
    entries: int
    xadd_per_s: float
    consume_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    runs: list[float]
    """Consume rate of each run; ``consume_per_s`` is the best."""

    def details(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _consume(url: str, name: str, go: Event, results: Any) -> None:
    """One consumer process: drain the group, acknowledging and publishing each entry."""
    client = connection.sync_client(url, timeout=None)
    template = _message(b"0-0")
    client.ping()
    results.put(("ready", 0.0))
    go.wait()
    done = 0
    while True:
        reply = client.xreadgroup(keys.WORKER_GROUP, name, {keys.TASK_STREAM: ">"}, count=BATCH)
        if not reply or not reply[0][1]:
            break
        entries = reply[0][1]
        pipe = client.pipeline(transaction=False)
        pipe.xack(keys.TASK_STREAM, keys.WORKER_GROUP, *[entry_id for entry_id, _ in entries])
        for entry_id, _fields in entries:
            pipe.publish(keys.UPDATES_CHANNEL, template.replace("0-0", entry_id.decode(), 1))
        pipe.execute()
        done += len(entries)
    results.put((done, time.time()))
    client.close()


def _answer(url: str, ready: Event) -> None:
    """The latency consumer: block on the group, answer each entry with XACK + PUBLISH."""
    client = connection.sync_client(url, timeout=None)
    ready.set()
    while True:
        reply = client.xreadgroup(
            keys.WORKER_GROUP, "raw-latency", {keys.TASK_STREAM: ">"}, count=BATCH, block=1000
        )
        if not reply:
            continue
        entries = reply[0][1]
        pipe = client.pipeline(transaction=False)
        pipe.xack(keys.TASK_STREAM, keys.WORKER_GROUP, *[entry_id for entry_id, _ in entries])
        for entry_id, _fields in entries:
            pipe.publish(keys.UPDATES_CHANNEL, _message(entry_id))
        pipe.execute()
        if any(STOP_FIELD.encode() in fields for _, fields in entries):
            break
    client.close()


def _fill(client: redis.Redis, count: int) -> float:
    """XADD ``count`` entries in pipelines of :data:`BATCH`; entries per second."""
    entry = {keys.TASK_FIELD: _entry()}
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(BATCH, count - first)):
            pipe.xadd(keys.TASK_STREAM, entry)
        pipe.execute()
    return rate(count, time.perf_counter() - started)


def _reset(client: redis.Redis) -> None:
    client.delete(keys.TASK_STREAM)
    client.xgroup_create(keys.TASK_STREAM, keys.WORKER_GROUP, id="0", mkstream=True)


def throughput(url: str, count: int) -> tuple[float, float]:
    """(XADD rate, consume rate) for ``count`` entries and :data:`CONSUMERS` processes."""
    context = multiprocessing.get_context("spawn")
    client = connection.sync_client(url, timeout=None)
    try:
        _reset(client)
        xadd_rate = _fill(client, count)
        go, results = context.Event(), context.Queue()
        workers = [
            context.Process(target=_consume, args=(url, f"raw-{i}", go, results), daemon=True)
            for i in range(CONSUMERS)
        ]
        for process in workers:
            process.start()
        try:
            for _ in workers:  # both connected before the clock starts
                results.get(timeout=60)
            started = time.time()
            go.set()
            outcomes = [results.get(timeout=120) for _ in workers]
        finally:
            go.set()
            for process in workers:
                process.join(timeout=10)
                if process.is_alive():
                    process.terminate()
                    process.join()
        finished = max(end for _, end in outcomes)
        consumed = sum(done for done, _ in outcomes)
        return xadd_rate, rate(consumed, finished - started)
    finally:
        client.delete(keys.TASK_STREAM)
        client.close()


def latency(url: str, samples: int) -> list[float]:
    """Seconds from XADD to receiving the answering PUBLISH, one entry at a time."""
    context = multiprocessing.get_context("spawn")
    client = connection.sync_client(url, timeout=None)
    listener = client.pubsub(ignore_subscribe_messages=True)
    _reset(client)
    listener.subscribe(keys.UPDATES_CHANNEL)
    ready = context.Event()
    consumer = context.Process(target=_answer, args=(url, ready), daemon=True)
    consumer.start()
    try:
        ready.wait(30)
        entry = {keys.TASK_FIELD: _entry()}
        took: list[float] = []
        for _ in range(samples + 10):
            started = time.perf_counter()
            entry_id = client.xadd(keys.TASK_STREAM, entry)
            deadline = started + 5.0
            while True:
                message = listener.get_message(timeout=max(0.0, deadline - time.perf_counter()))
                if message is not None and entry_id in message["data"]:
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError("the raw latency consumer did not answer within 5 s")
            took.append(time.perf_counter() - started)
        client.xadd(keys.TASK_STREAM, {STOP_FIELD: "1"})
        return took[10:]  # the first few warm up connections
    finally:
        consumer.join(timeout=10)
        if consumer.is_alive():
            consumer.terminate()
            consumer.join()
        listener.close()
        client.delete(keys.TASK_STREAM)
        client.close()


def measure(url: str, count: int, samples: int) -> RawResult:
    """The best of :data:`REPEATS` runs of ``count`` entries (the machine is shared: the
    best run is the closest to what this server can do), then the latency floor."""
    runs = [throughput(url, count) for _ in range(REPEATS)]
    took = latency(url, samples)
    return RawResult(
        entries=count,
        xadd_per_s=max(xadd for xadd, _ in runs),
        consume_per_s=max(consume for _, consume in runs),
        runs=[consume for _, consume in runs],
        latency_p50_ms=ms(percentile(took, 50)),
        latency_p99_ms=ms(percentile(took, 99)),
    )
