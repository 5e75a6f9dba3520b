"""Stopping with the parent process: the workers the panel starts end when the panel
does, even when it is killed (``--parent-pid``; a server's workers have none)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

log = logging.getLogger("backend.worker")

CHECK_EVERY = 0.5
"""Seconds between looks at the parent."""


async def watch(pid: int, on_gone: Callable[[], None]) -> None:
    """Call ``on_gone()`` once process ``pid`` is no longer this process's parent."""
    # Polling: a process's exit gives no event here that works on every POSIX system.
    while os.getppid() == pid:  # noqa: ASYNC110
        await asyncio.sleep(CHECK_EVERY)
    log.warning("parent process %d is gone: stopping", pid)
    on_gone()
