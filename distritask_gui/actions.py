"""What the user asks of the broker: submit, cancel, retry, load a task, test a URL,
drain or stop a worker.

Widgets never await: they call the intent slots (:meth:`Actions.submit`,
:meth:`Actions.cancel`, :meth:`Actions.retry`, :meth:`Actions.load_task`,
:meth:`Actions.test_url`), which start background tasks kept referenced until they
finish (:class:`~distritask_gui.intents.Intents`, shared with the console's). Results
and errors come back as signals. The store comes from the connection
(:class:`~distritask_gui.connection.BrokerConnection`): an intent while it is not
connected fails with a clear message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Signal
from redis.exceptions import RedisError

from backend.broker_url import describe
from backend.connection import client
from backend.errors import ConfigError
from backend.policy import SubmitPolicy, due_time, retry_problem
from backend.protocol import DEFAULT_QUEUE
from backend.state import TaskState
from backend.store import TaskStore
from distritask_gui.intents import Intents
from distritask_gui.local_cluster import LocalCluster

log = logging.getLogger(__name__)

TEST_TIMEOUT = 5.0


class Actions(Intents):
    task_loaded = Signal(object)
    """A :class:`TaskState` fetched for the detail dialog (or changed by an intent)."""
    test_result = Signal(bool, str)
    history_loaded = Signal(object)
    """A :class:`~backend.history.History` range asked for with :meth:`load_history`."""

    def __init__(
        self,
        store: Callable[[], TaskStore | None],
        address: str,
        parent: QObject | None = None,
        *,
        policy: SubmitPolicy | None = None,
    ) -> None:
        super().__init__(store, address, parent)
        self.policy = policy or SubmitPolicy()
        """The one submit policy (names, default retries, what may be retried)."""

    def submit(
        self,
        name: str,
        payload: Any = None,
        count: int = 1,
        queue: str = DEFAULT_QUEUE,
        when: float | datetime = 0.0,
    ) -> None:
        """Queue tasks; ``when``: seconds from now (0: now) or a time to run them at."""
        if isinstance(when, datetime):
            self._spawn(self.submit_tasks(name, payload, count, queue=queue, at=when))
        else:
            self._spawn(self.submit_tasks(name, payload, count, queue=queue, delay=when))

    async def submit_tasks(
        self,
        name: str,
        payload: Any,
        count: int,
        *,
        max_retries: int | None = None,
        queue: str = DEFAULT_QUEUE,
        delay: float = 0.0,
        at: datetime | None = None,
    ) -> list[TaskState]:
        """Queue ``count`` tasks ``name`` with ``payload`` on ``queue``, runnable after
        ``delay`` seconds (0: now) or at ``at`` (a time with its zone); their states."""
        store = self.store()
        due = due_time(delay if delay > 0 else None, at)
        tasks = self.policy.tasks(  # ValueError
            name, payload, count, max_retries=max_retries, queue=queue, due=due
        )
        states = await store.submit(tasks)
        what = (
            f"{count} \N{MULTIPLICATION SIGN} {name}"
            if count > 1
            else f"#{states[0].id[:6]} {name}"
        )
        where = "" if queue == DEFAULT_QUEUE else f" on {queue}"
        if at is not None:
            when = f", to run at {at.strftime('%Y-%m-%d %H:%M:%S %Z')}"
        else:
            when = f", to run in {delay:g} s" if due is not None else ""
        self.message.emit(f"Queued {what}{where}{when}")
        return states

    def cancel(self, task_id: str) -> None:
        self._spawn(self._cancel(task_id))

    async def _cancel(self, task_id: str) -> None:
        state = await self.store().request_cancel(task_id)
        if state is None:
            self.message.emit(f"#{task_id[:6]} is not known to the broker")
        else:
            self.message.emit(f"Cancel requested for #{task_id[:6]}")
            self.task_loaded.emit(state)

    def retry(self, task_id: str) -> None:
        self._spawn(self._retry(task_id))

    async def _retry(self, task_id: str) -> None:
        store = self.store()
        state = await store.get(task_id)
        if state is None:
            self.message.emit(f"#{task_id[:6]} is not known to the broker")
            return
        problem = retry_problem(f"#{task_id[:6]}", state.status)
        if problem is not None:
            self.message.emit(problem)
            return
        queued = await store.requeue(state)
        self.message.emit(f"Queued #{task_id[:6]} again (attempt {queued.attempt})")
        self.task_loaded.emit(queued)

    def order_worker(self, order: str, name: str) -> None:
        """Send worker ``name`` an order: ``"drain"`` or ``"stop"`` (see
        :meth:`backend.store.TaskStore.drain_worker`)."""
        self._spawn(self._order(order, name))

    async def _order(self, order: str, name: str) -> None:
        store = self.store()
        send = store.drain_worker if order == "drain" else store.stop_worker
        heard = await send(name)
        what = "Drain" if order == "drain" else "Stop"
        if heard:
            self.message.emit(f"{what} sent to {name}")
        else:
            self.message.emit(f"{what} sent to {name}, but no worker is listening")

    def scale_cluster(self, cluster: LocalCluster, workers: int, concurrency: int) -> None:
        """Run ``workers`` local workers of ``concurrency`` (the surplus is drained)."""
        self._spawn(self._scale(cluster, workers, concurrency))

    async def _scale(self, cluster: LocalCluster, workers: int, concurrency: int) -> None:
        await cluster.scale(workers, concurrency, self.store().drain_worker)
        self.message.emit(f"Local cluster: {workers} worker(s), concurrency {concurrency}")

    def load_task(self, task_id: str) -> None:
        self._spawn(self._load(task_id))

    async def _load(self, task_id: str) -> None:
        state = await self.store().get(task_id)
        if state is not None:
            self.task_loaded.emit(state)

    def load_history(self, range_name: str) -> None:
        """The per-minute history of ``range_name`` (``1h``, ``24h``, ``7d``)."""
        self._spawn(self._load_history(range_name))

    async def _load_history(self, range_name: str) -> None:
        self.history_loaded.emit(await self.store().history(range_name))

    def test_url(self, url: str) -> None:
        self._spawn(self._test(url))

    async def _test(self, url: str) -> None:
        try:
            redis = client(url)
        except ConfigError as exc:  # a malformed URL: say why, as a failed test
            self.test_result.emit(False, str(exc))
            return
        try:
            info = await asyncio.wait_for(redis.info("server"), timeout=TEST_TIMEOUT)
        except (TimeoutError, RedisError, OSError) as exc:
            self.test_result.emit(False, f"{describe(url)}: {exc or 'no answer within 5 s'}")
        else:
            version = info.get("valkey_version") or info.get("redis_version") or "?"
            self.test_result.emit(True, f"{describe(url)} answers (server {version})")
        finally:
            await redis.aclose()
