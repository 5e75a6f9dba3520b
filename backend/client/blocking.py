"""The blocking client, for scripts and WSGI apps: :class:`~backend.client.Client`'s
methods, run on a private event loop (uvloop's where installed: :mod:`backend.loops`) in
a background thread.

It may be shared by threads: each call is handed to the loop and waited for.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from backend import loops
from backend.client.aio import Client
from backend.client.submitting import TaskSpec
from backend.config import Settings
from backend.protocol import TaskStatus
from backend.schedules import Schedule
from backend.state import TaskState

T = TypeVar("T")


class BlockingClient:
    """:class:`Client` with plain methods; use it as ``with BlockingClient(url) as
    client`` (or call :meth:`close` when done)."""

    def __init__(self, url: str | None = None, *, settings: Settings | None = None) -> None:
        self._client = Client(url, settings=settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> BlockingClient:
        return cls(settings=settings)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                loop = loops.new_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="distritask-client", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def open(self) -> None:
        """Connect (done by the first call anyway)."""
        self._run(self._client.open())

    def close(self) -> None:
        """Close the connections and stop the background thread."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), loop).result()
            asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> BlockingClient:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def submit(
        self,
        name: str,
        payload: Any = None,
        *,
        queue: str | None = None,
        delay: float | None = None,
        at: datetime | str | None = None,
        task_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        replace: bool = False,
    ) -> str:
        """See :meth:`Client.submit`."""
        return self._run(
            self._client.submit(
                name,
                payload,
                queue=queue,
                delay=delay,
                at=at,
                task_id=task_id,
                max_retries=max_retries,
                timeout=timeout,
                replace=replace,
            )
        )

    def submit_many(self, tasks: Iterable[TaskSpec], *, replace: bool = False) -> list[str]:
        """See :meth:`Client.submit_many`."""
        return self._run(self._client.submit_many(list(tasks), replace=replace))

    def get(self, task_id: str) -> TaskState | None:
        """See :meth:`Client.get`."""
        return self._run(self._client.get(task_id))

    def list_tasks(
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
        """See :meth:`Client.list_tasks`."""
        return self._run(
            self._client.list_tasks(
                status=status,
                name=name,
                queue=queue,
                worker=worker,
                q=q,
                limit=limit,
                offset=offset,
            )
        )

    def result(self, task_id: str, timeout: float | None = None) -> Any:
        """See :meth:`Client.result`."""
        return self._run(self._client.result(task_id, timeout))

    def cancel(self, task_id: str) -> TaskState:
        """See :meth:`Client.cancel`."""
        return self._run(self._client.cancel(task_id))

    def retry(self, task_id: str) -> TaskState:
        """See :meth:`Client.retry`."""
        return self._run(self._client.retry(task_id))

    def schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        every: float | None = None,
        payload: Any = None,
        queue: str | None = None,
        schedule_id: str | None = None,
    ) -> str:
        """See :meth:`Client.schedule`."""
        return self._run(
            self._client.schedule(
                name,
                cron=cron,
                every=every,
                payload=payload,
                queue=queue,
                schedule_id=schedule_id,
            )
        )

    def unschedule(self, schedule_id: str) -> bool:
        """See :meth:`Client.unschedule`."""
        return self._run(self._client.unschedule(schedule_id))

    def schedules(self) -> list[Schedule]:
        """See :meth:`Client.schedules`."""
        return self._run(self._client.schedules())


async def _cancel_the_rest() -> None:
    """Cancel what still runs on the loop and let it end, as ``asyncio.run`` does before
    closing its loop: uvloop's ``close()`` hangs on a loop left with a task pending."""
    current = asyncio.current_task()
    rest = [task for task in asyncio.all_tasks() if task is not current]
    for task in rest:
        task.cancel()
    if rest:
        await asyncio.wait(rest)
