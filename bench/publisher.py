"""A paced publisher of status updates on ``task_updates`` (run as a process).

``python -m distritask_bench.publisher URL RATE SECONDS`` publishes RATE updates a
second for SECONDS, in the shape workers send: each new task goes ``pending`` (from
the manager), ``processing`` then ``completed`` on one of four workers. Every
:data:`TICK` it sends what is due so far in one pipeline, so the rate holds even
when a tick runs late. Prints one JSON line: ``published``, ``started``, ``ended``
(epoch seconds).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator

from backend import connection, keys
from backend import messages as said
from backend.protocol import TaskStatus, clock, encode_update, make_update

TICK = 0.005
WORKERS = 4
STEPS = (
    (TaskStatus.PENDING, "manager", said.QUEUED, 0, 0),
    (TaskStatus.PROCESSING, "", said.STARTED, 0, 1),
    (TaskStatus.COMPLETED, "", said.COMPLETED, 100, 2),
)


def _template(status: TaskStatus, worker: str, message: str, progress: int, seq: int) -> str:
    """One update's JSON with ``%(id)s``, ``%(worker)s``, ``%(time)s``, ``%(ts)r`` to fill in."""
    update = make_update(
        "ID",
        status,
        worker=worker or "WORKER",
        message=message,
        progress=progress,
        attempt=1,
        seq=seq,
        name="noop",
    )
    text = encode_update(update)
    text = text.replace('"ID"', '"%(id)s"').replace('"WORKER"', '"%(worker)s"')
    text = text.replace(f'"{update.time}"', '"%(time)s"').replace(repr(update.ts), "%(ts)r")
    return text


def messages() -> Iterator[str]:
    """Endless updates: three per task (pending, processing, completed)."""
    templates = [(_template(*step), step[1]) for step in STEPS]
    n = 0
    while True:
        task_id = str(uuid.uuid4())
        worker = f"bench-w{n % WORKERS + 1}"
        now = time.time()
        for template, source in templates:
            fill = {"id": task_id, "worker": source or worker, "time": clock(now), "ts": now}
            yield template % fill
        n += 1


def publish(url: str, per_second: float, seconds: float) -> dict[str, float]:
    client = connection.sync_client(url, timeout=None)
    client.ping()
    stream = messages()
    sent = 0
    started = time.time()
    begin = time.perf_counter()
    end = begin + seconds
    while (now := time.perf_counter()) < end:
        due = int((now - begin) * per_second) - sent
        if due > 0:
            pipe = client.pipeline(transaction=False)
            for _ in range(due):
                pipe.publish(keys.UPDATES_CHANNEL, next(stream))
            pipe.execute()
            sent += due
        time.sleep(max(0.0, TICK - (time.perf_counter() - now)))
    client.close()
    return {"published": sent, "started": started, "ended": time.time()}


if __name__ == "__main__":
    url, per_second, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(publish(url, per_second, seconds)), flush=True)
