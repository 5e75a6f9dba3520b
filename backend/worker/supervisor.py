"""The worker's loops, supervised: one that dies stops the worker with exit status 1.

Every loop of a worker (reading, reclaiming, the slots, the heartbeat, the
promoter, …) runs as a task made here. One that ends with an exception is logged
and reported to the worker, which stops and exits non-zero: it is never "online"
with a loop gone. The background loops are kept in :attr:`Supervisor.background`
and cancelled at the end of the drain (:func:`backend.worker.shutdown.cancel_background`,
which notes in :attr:`Supervisor.unstopped` those that did not end in time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("backend.worker")


class Supervisor:
    """Starts a worker's loops and reports one that dies to ``on_crash``."""

    def __init__(self, on_crash: Callable[[BaseException], None]) -> None:
        self._on_crash = on_crash
        self.background: list[asyncio.Task[Any]] = []
        """The background loops (cancelled at the end of the drain)."""
        self.unstopped: set[asyncio.Task[Any]] = set()
        """Background loops that did not end when cancelled (left behind)."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a background loop (cancelled at the end of the drain), supervised."""
        self.background.append(self.supervised(coro))

    def supervised(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start an essential loop: if it dies, ``on_crash`` is told (the worker stops
        and exits non-zero)."""
        task = asyncio.create_task(coro, name=getattr(coro, "__qualname__", None))
        task.add_done_callback(self._crashed)
        return task

    def _crashed(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or (exc := task.exception()) is None:
            return
        log.error("internal error in %s; stopping", task.get_name(), exc_info=exc)
        self._on_crash(exc)
