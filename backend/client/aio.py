"""The asyncio client: queue tasks, look at them, wait for their results.

::

    async with Client("redis://localhost:6379/0") as client:
        task_id = await client.submit("echo", {"hello": "world"})
        print(await client.result(task_id, timeout=10))

With no URL it uses the settings (``REDIS_URL``, or the embedded server for
``DISTRITASK_DATA_DIR``, joined or started, as the CLI does). Every method goes
through the same gateway (:class:`backend.store.TaskStore`) and rules as the
manager's routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

from backend import actions, connection
from backend.broker import use_broker
from backend.broker_url import describe
from backend.client.submitting import TaskSpec, build_routed, build_tasks, routed
from backend.client.waiting import Waiters
from backend.config import Settings, load_settings
from backend.policy import SubmitPolicy
from backend.protocol import TaskStatus
from backend.schedules import Schedule
from backend.state import TaskState
from backend.store import TaskStore


class Client:
    """An asyncio client; use it as ``async with Client(url) as client`` (or call
    :meth:`aclose` when done). Opens its connections on first use."""

    def __init__(self, url: str | None = None, *, settings: Settings | None = None) -> None:
        self._url = url
        self._settings = settings
        self._stack: contextlib.AsyncExitStack | None = None
        self._store: TaskStore | None = None
        self._waiters: Waiters | None = None
        self._policy: SubmitPolicy | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Client:
        """A client for the broker the settings name (``REDIS_URL`` or the embedded one)."""
        return cls(settings=settings)

    # -- connection -------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (done by the first call anyway); raises if the broker is unreachable."""
        if self._store is not None:
            return
        settings = self._settings or load_settings()
        stack = contextlib.AsyncExitStack()
        try:
            url = self._url
            if url is None:
                url = stack.enter_context(use_broker(settings)).url
            redis = connection.client(url, cluster=settings.cluster)
            stack.push_async_callback(redis.aclose)
            listener = connection.client(url, timeout=None, cluster=settings.cluster)
            stack.push_async_callback(listener.aclose)
            store = TaskStore.from_settings(redis, settings, listener=listener)
            stack.push_async_callback(store.finish_settling)  # before the connections go
            await store.ensure_group()
            waiters = Waiters(store, describe(url))
            stack.push_async_callback(waiters.aclose)
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._store, self._waiters = stack, store, waiters
        self._policy = SubmitPolicy.from_settings(settings)

    async def aclose(self) -> None:
        """Close the connections (and stop the embedded server if this client started it)."""
        stack, self._stack, self._store, self._waiters = self._stack, None, None, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> Client:
        await self.open()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def store(self) -> TaskStore:
        """The gateway this client uses (connecting first if needed)."""
        await self.open()
        assert self._store is not None
        return self._store

    # -- submitting -------------------------------------------------------------------

    async def submit(
        self,
        name: str,
        payload: Any = None,
        *,
        queue: str | None = None,
        delay: float | None = None,
        at: datetime | str | None = None,
        task_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the issue fixes this name
        replace: bool = False,
    ) -> str:
        """Queue one task; its id.

        ``task_id``: your own id, making the submit idempotent: while a task with that
        id is unfinished, submitting it again queues nothing and returns the id; once
        it has finished, it raises :class:`~backend.errors.TaskExists` unless
        ``replace`` (then it runs again). ``max_retries`` defaults to the setting,
        ``timeout`` (seconds) to the worker's. Raises ``ValueError`` for a name the
        submit policy refuses.
        """
        spec: dict[str, Any] = {
            "name": name,
            "payload": payload,
            "queue": queue,
            "delay": delay,
            "at": at,
            "task_id": task_id,
            "max_retries": max_retries,
            "timeout": timeout,
        }
        [queued] = await self.submit_many([spec], replace=replace)
        return queued

    async def submit_many(self, tasks: Iterable[TaskSpec], *, replace: bool = False) -> list[str]:
        """Queue many tasks in pipelined batches (100,000 in one call is fine); their
        ids, in order.

        Each is a dict with :meth:`submit`'s keywords (``name`` required), or a tuple
        ``(name,)`` / ``(name, payload)``. Ids are checked as :meth:`submit` says;
        a finished one raises :class:`~backend.errors.TaskExists`, and tasks in earlier
        batches (of :data:`backend.store.SUBMIT_BATCH`) are queued by then.
        """
        store = await self.store()
        policy = self._policy
        assert policy is not None
        items = list(tasks)
        routes = [routed(spec) for spec in items]
        built = build_tasks(
            [spec for spec, aside in zip(items, routes, strict=True) if not aside], policy
        )
        models = []
        for index, spec in enumerate(items):
            if routes[index]:
                try:
                    models.append(build_routed(spec, policy))  # type: ignore[arg-type]
                except ValueError as exc:
                    raise ValueError(f"task {index}: {exc}") from None
        assert self._waiters is not None
        self._waiters.expect([*(task.task_id for task in built), *(model.id for model in models)])
        if built:
            await store.enqueue_new(built, replace=replace)
        if models:  # a queue of their own or a delay: routed by the store
            await store.enqueue(models, replace=replace)
        fast, slow = iter(built), iter(models)
        return [next(slow).id if aside else next(fast).task_id for aside in routes]

    # -- looking ----------------------------------------------------------------------

    async def get(self, task_id: str) -> TaskState | None:
        """The task's state (status, progress, result, error, timeline), or ``None``."""
        return await (await self.store()).get(task_id)

    async def list_tasks(
        self,
        *,
        status: TaskStatus | str | None = None,
        name: str | None = None,
        queue: str | None = None,
        worker: str | None = None,
        q: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskState]:
        """Tasks matching every filter given, newest first (``q``: free text, as the
        console's search; see :meth:`backend.store.TaskStore.list_tasks`)."""
        store = await self.store()
        page = await store.list_tasks(
            status=None if status is None else TaskStatus(status).value,
            name=name,
            queue=queue,
            worker=worker,
            q=q,
            limit=limit,
            offset=offset,
        )
        return page.tasks

    async def result(self, task_id: str, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Wait for the task to finish; what its handler returned.

        Raises :class:`~backend.errors.TaskFailed` (its ``error`` is the error text),
        :class:`~backend.errors.TaskCancelled`, ``TimeoutError`` after ``timeout``
        seconds, or :class:`~backend.errors.TaskNotFound`. Wakes on the task's status
        update (one subscription per client, shared by every waiting call).
        """
        await self.open()
        assert self._waiters is not None
        return await self._waiters.result(task_id, timeout)

    # -- acting -----------------------------------------------------------------------

    async def cancel(self, task_id: str) -> TaskState:
        """Cancel the task (as ``POST /tasks/{id}/cancel``): its state now.

        Raises :class:`~backend.errors.TaskNotFound` or, for a finished task,
        :class:`~backend.errors.TaskConflict`."""
        return await actions.cancel(await self.store(), task_id)

    async def retry(self, task_id: str) -> TaskState:
        """Queue a failed or cancelled task again (as ``POST /tasks/{id}/retry``)."""
        return await actions.retry(await self.store(), task_id)

    # -- schedules (periodic tasks) ---------------------------------------------------

    async def schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        every: float | None = None,
        payload: Any = None,
        queue: str | None = None,
        schedule_id: str | None = None,
    ) -> str:
        """Run ``name`` on a cron expression (5 fields, UTC) or ``every`` seconds; the
        schedule's id (``schedule_id`` replaces the schedule of that id)."""
        store = await self.store()
        return await store.schedule(
            name, cron=cron, every=every, payload=payload, queue=queue, schedule_id=schedule_id
        )

    async def unschedule(self, schedule_id: str) -> bool:
        """Remove a schedule; whether there was one."""
        return await (await self.store()).unschedule(schedule_id)

    async def schedules(self) -> list[Schedule]:
        """Every schedule, oldest first."""
        return await (await self.store()).schedules()


__all__ = ["Client"]
