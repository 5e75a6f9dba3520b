"""What the board's and the console's intents share: each runs as a background task
on the asyncio side, kept referenced until it ends; a failure becomes a ``message``
(for the status bar) and a WARNING line, never an unhandled exception; and an intent
while the bridge is not connected fails with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

from backend.store import TaskStore
from distritask_gui.cancelling import cancel_all

log = logging.getLogger(__name__)


class Intents(QObject):
    message = Signal(str)
    """A short note for the status bar (results and errors of intents)."""

    def __init__(
        self,
        store: Callable[[], TaskStore | None],
        address: str = "the broker",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        """The connection's store (``None`` while not connected)."""
        self.address = address
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def connected(self) -> bool:
        return self._store() is not None

    def store(self) -> TaskStore:
        """The connection's store; ``ConnectionError`` while not connected."""
        store = self._store()
        if store is None:
            raise ConnectionError(f"not connected to {self.address}")
        return store

    async def stop(self) -> None:
        """Cancel every intent still running; wait for them."""
        await cancel_all(self._tasks)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        log.warning("request failed: %s", exc)
        with contextlib.suppress(RuntimeError):  # the window is gone: nobody to tell
            self.message.emit(f"Request failed: {exc}")
