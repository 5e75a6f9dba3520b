"""SIGTERM and SIGINT: the first asks for a graceful stop, a second one exits at once."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

log = logging.getLogger("backend.worker")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(
    loop: asyncio.AbstractEventLoop,
    on_stop: Callable[[], None],
    on_abort: Callable[[int], None],
) -> None:
    """Route the stop signals: ``on_stop()`` the first time, ``on_abort(signum)`` after."""
    received = 0

    def handle(signum: int) -> None:
        nonlocal received
        received += 1
        name = signal.Signals(signum).name
        if received == 1:
            log.warning("%s: finishing running tasks, then exiting (again to exit now)", name)
            on_stop()
        else:
            log.warning("%s again: exiting now; unfinished tasks will be reclaimed", name)
            on_abort(signum)

    for signum in SIGNALS:
        loop.add_signal_handler(signum, handle, signum)


def uninstall(loop: asyncio.AbstractEventLoop) -> None:
    for signum in SIGNALS:
        loop.remove_signal_handler(signum)
