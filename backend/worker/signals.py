"""SIGTERM and SIGINT: the first asks for a graceful stop, a second one exits at once.

The handlers are plain Python signal handlers, not event-loop ones: Python runs them
in the main thread between two bytecodes, so they work even while a handler holds
the event loop (a CPU-bound ``async def``). The first signal hands the stop to the
loop (thread-safe) and arms a timer thread: if the process is still there
``hard_stop_after`` seconds later, it exits at once (what is unfinished is reclaimed).
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

_timer: threading.Timer | None = None
_previous: dict[int, object] = {}


def install(
    loop: asyncio.AbstractEventLoop,
    on_stop: Callable[[], None],
    on_abort: Callable[[int], None],
    *,
    hard_stop_after: float,
) -> None:
    """Route the stop signals: ``on_stop()`` (on ``loop``) the first time, and
    ``on_abort(signum)`` after a second one or ``hard_stop_after`` seconds."""
    received = 0

    def overdue(signum: int) -> None:
        log.error(
            "still running %g s after %s: exiting now; unfinished tasks will be reclaimed",
            hard_stop_after,
            signal.Signals(signum).name,
        )
        on_abort(signum)

    def handle(signum: int, frame: FrameType | None) -> None:
        global _timer
        nonlocal received
        received += 1
        name = signal.Signals(signum).name
        if received == 1:
            log.warning("%s: finishing running tasks, then exiting (again to exit now)", name)
            _timer = threading.Timer(hard_stop_after, overdue, args=(signum,))
            _timer.daemon = True
            _timer.start()
            loop.call_soon_threadsafe(on_stop)
        else:
            log.warning("%s again: exiting now; unfinished tasks will be reclaimed", name)
            on_abort(signum)

    for signum in SIGNALS:
        _previous[signum] = signal.signal(signum, handle)


def uninstall() -> None:
    """The earlier handlers again; a pending hard stop is called off (the stop is done)."""
    global _timer
    for signum, previous in _previous.items():
        signal.signal(signum, previous)  # type: ignore[arg-type]
    _previous.clear()
    if _timer is not None:
        _timer.cancel()
        _timer = None
