"""The original Go services, played faithfully against a real server (for tests).

:class:`GoWorker` is ``cmd/worker/main.go``: one reader, the consumer ``dispatcher``,
reads the group with ``>`` only (one entry at a time, handed to the next free one of
three workers named ``worker-1..3``); it never reclaims and has no heartbeat. Each
task, whatever its name or payload, is two ``processing`` messages and a pause, then
XACK, then ``completed``. Entries it cannot parse are skipped and never acknowledged.
Its updates are written as Go's ``fmt.Sprintf`` writes them: the fields ``id``,
``status``, ``time``, ``worker``, ``message`` in that order, with a space after each
colon and comma, and nothing else (no attempt, seq, progress or ts).

:class:`GoManager` is ``cmd/manager/main.go``'s ``/submit``: XADD of the Go task JSON
(``{"id","name":"ExampleTask","payload":null,"status":0,"retries":0,"max_retries":0,
"created_at":RFC3339}``) as ``task_data``, then a ``pending`` update from ``manager``.

Both run in threads with a plain client, so any test (sync, asyncio or Qt) can use
them. The pauses are the Go ones (2 s and 3 s) scaled down.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import redis

from backend import keys

GO_WORKERS = ("worker-1", "worker-2", "worker-3")
CONSUMER = "dispatcher"
STARTED = "Allocating resources and starting execution"
ANALYZING = "Analyzing task payload and optimizing"
COMPLETED = "Task execution finalized successfully"
ACCEPTED = "Task accepted and waiting in queue"
"""The Go manager's ``pending`` message."""


def go_update(task_id: str, status: str, worker: str, message: str) -> str:
    """A status update, byte for byte as the Go services publish it."""
    return (
        f'{{"id": "{task_id}", "status": "{status}", "time": "{time.strftime("%H:%M:%S")}", '
        f'"worker": "{worker}", "message": "{message}"}}'
    )


class GoWorker:
    """A Go worker process (``dispatcher`` + ``worker-1..3``), until :meth:`stop`."""

    def __init__(
        self, redis_url: str, *, pauses: tuple[float, float] = (0.2, 0.3), workers: int = 3
    ) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pauses = pauses
        self.names = GO_WORKERS[:workers]
        self.completed: list[str] = []
        """Ids of the tasks it finished, in order."""
        self.skipped: list[bytes] = []
        """Entries it could not parse (never acknowledged)."""
        self._hand_over: queue.Queue[tuple[bytes, dict[bytes, bytes]]] = queue.Queue(1)
        self._taken = threading.Semaphore(0)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> GoWorker:
        with contextlib.suppress(redis.ResponseError):  # BUSYGROUP, as Go ignores it
            self.client.xgroup_create(keys.TASK_STREAM, keys.WORKER_GROUP, id="$", mkstream=True)
        self._threads = [threading.Thread(target=self._dispatch, name="go-dispatcher")]
        self._threads += [
            threading.Thread(target=self._work, args=(name,), name=f"go-{name}")
            for name in self.names
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        return self

    def stop(self) -> None:
        """Stop reading; tasks in hand are dropped unacknowledged (a killed process)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self.client.close()

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            try:
                found = self.client.xreadgroup(
                    keys.WORKER_GROUP, CONSUMER, {keys.TASK_STREAM: ">"}, count=1, block=100
                )
            except redis.RedisError:
                continue  # Go: `if err != nil { continue }`
            for _, entries in found or []:
                for entry in entries:
                    self._hand_over.put(entry)
                    # An unbuffered channel: the dispatcher waits until a worker takes it.
                    while not (self._stop.is_set() or self._taken.acquire(timeout=0.1)):
                        pass

    def _work(self, name: str) -> None:
        while not self._stop.is_set():
            try:
                entry = self._hand_over.get(timeout=0.1)
            except queue.Empty:
                continue
            self._taken.release()
            entry_id, fields = entry
            try:
                task_id = json.loads(fields[keys.TASK_FIELD.encode()])["id"]
                if not isinstance(task_id, str):
                    raise TypeError(task_id)
            except (KeyError, ValueError, TypeError):
                self.skipped.append(entry_id)
                continue
            self._publish(task_id, "processing", name, STARTED)
            if self._stop.wait(self.pauses[0]):
                return
            self._publish(task_id, "processing", name, ANALYZING)
            if self._stop.wait(self.pauses[1]):
                return
            self.client.xack(keys.TASK_STREAM, keys.WORKER_GROUP, entry_id)
            self._publish(task_id, "completed", name, COMPLETED)
            self.completed.append(task_id)

    def _publish(self, task_id: str, status: str, worker: str, message: str) -> None:
        self.client.publish(keys.UPDATES_CHANNEL, go_update(task_id, status, worker, message))


class GoManager:
    """The Go manager's ``/submit``, without the HTTP."""

    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.submitted: list[str] = []

    def submit(self) -> str:
        """Queue one ``ExampleTask`` as the Go manager does; its id."""
        task_id = str(uuid.uuid4())
        created = datetime.now().astimezone().isoformat()  # Go's RFC 3339, local offset
        data = (
            f'{{"id":"{task_id}","name":"ExampleTask","payload":null,"status":0,'
            f'"retries":0,"max_retries":0,"created_at":"{created}"}}'
        )
        self.client.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: data})
        self.client.publish(
            keys.UPDATES_CHANNEL, go_update(task_id, "pending", "manager", ACCEPTED)
        )
        self.submitted.append(task_id)
        return task_id

    def close(self) -> None:
        self.client.close()


@contextlib.contextmanager
def go_worker(redis_url: str, **options: object) -> Iterator[GoWorker]:
    """A running :class:`GoWorker`, stopped at the end."""
    worker = GoWorker(redis_url, **options).start()  # type: ignore[arg-type]
    try:
        yield worker
    finally:
        worker.stop()


@contextlib.contextmanager
def go_manager(redis_url: str) -> Iterator[GoManager]:
    manager = GoManager(redis_url)
    try:
        yield manager
    finally:
        manager.close()
