"""SIGTERM and SIGINT: the first asks for a graceful stop, a second one exits at once.

The handlers are plain Python signal handlers, not event-loop ones: Python runs them
in the main thread between two bytecodes, so they work even while a handler holds
the event loop (a CPU-bound ``async def``). Running between any two bytecodes, a
handler must take no lock the main thread may hold at that moment, and write no log
record (a stream being written refuses a second, nested write). So a handler only
counts the signal, hands the stop to the loop (thread-safe) and sets an event for a
watch thread started with the handlers. That thread does the rest: it logs the stop,
and it exits the process at once after a second signal, or when the process is still
there ``hard_stop_after`` seconds later (what is unfinished is reclaimed).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("backend.worker")

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_previous: dict[int, object] = {}
_watch: _Watch | None = None


class _Watch:
    """The thread that acts on what the handlers noted (see the module docstring)."""

    def __init__(self, on_abort: Callable[[int], None], hard_stop_after: float) -> None:
        self.on_abort = on_abort
        self.hard_stop_after = hard_stop_after
        self.received = 0
        self.first = threading.Event()
        self.again = threading.Event()
        self.done = False
        self.signums: list[int] = []
        threading.Thread(target=self._run, name="stop signals", daemon=True).start()

    def noted(self, signum: int) -> int:
        """Count a signal (called in the handler: no lock, no log); how many came."""
        self.received += 1
        if self.received <= 2:
            self.signums.append(signum)
            (self.first if self.received == 1 else self.again).set()
        return self.received

    def stop(self) -> None:
        """The stop is done: the thread ends without exiting the process."""
        self.done = True
        self.first.set()
        self.again.set()

    def _run(self) -> None:
        self.first.wait()
        if self.done:
            return
        name = signal.Signals(self.signums[0]).name
        log.warning("%s: finishing running tasks, then exiting (again to exit now)", name)
        again = self.again.wait(self.hard_stop_after)
        if self.done:
            return
        if again:
            name = signal.Signals(self.signums[1]).name
            log.warning("%s again: exiting now; unfinished tasks will be reclaimed", name)
            self.on_abort(self.signums[1])
        else:
            log.error(
                "still running %g s after %s: exiting now; unfinished tasks will be reclaimed",
                self.hard_stop_after,
                name,
            )
            self.on_abort(self.signums[0])


def install(
    loop: asyncio.AbstractEventLoop,
    on_stop: Callable[[], None],
    on_abort: Callable[[int], None],
    *,
    hard_stop_after: float,
) -> None:
    """Route the stop signals: ``on_stop()`` (on ``loop``) the first time, and
    ``on_abort(signum)`` after a second one or ``hard_stop_after`` seconds."""
    global _watch
    watch = _watch = _Watch(on_abort, hard_stop_after)

    def handle(signum: int, frame: FrameType | None) -> None:
        if watch.noted(signum) == 1:
            loop.call_soon_threadsafe(on_stop)

    for signum in SIGNALS:
        _previous[signum] = signal.signal(signum, handle)


def uninstall() -> None:
    """The earlier handlers again; a pending hard stop is called off (the stop is done)."""
    global _watch
    for signum, previous in _previous.items():
        signal.signal(signum, previous)  # type: ignore[arg-type]
    _previous.clear()
    if _watch is not None:
        _watch.stop()
        _watch = None
