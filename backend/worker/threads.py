"""The threads plain ``def`` handlers run in: the event loop's default executor, with
a count of the calls not finished yet.

A thread cannot be stopped from outside. A worker that is done checks :attr:`busy`:
if a handler still runs (one sleeping for an hour, or one past its timeout), the
process exits without waiting for it, instead of hanging in the interpreter's
shutdown, which joins every executor thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class HandlerThreads(ThreadPoolExecutor):
    """A thread pool that knows how many submitted calls have not finished."""

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="distritask-handler")
        self._lock = threading.Lock()
        self._busy = 0

    @property
    def busy(self) -> int:
        """Calls submitted and not finished (running or waiting for a thread)."""
        return self._busy

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            self._busy += 1

        def counted() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._busy -= 1

        try:
            return super().submit(counted)
        except BaseException:
            with self._lock:
                self._busy -= 1
            raise
