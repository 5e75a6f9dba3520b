"""Cancelling the panel's asyncio tasks and waiting for them to end, under qasync.

The bridge's connection, its intents and its alert checks stop their background
tasks through :func:`cancel_all` (the bridge stops them all when the panel closes).
"""

from __future__ import annotations

import asyncio
from typing import Any

STOP_WAIT = 5.0
"""Seconds :func:`cancel_all` waits for the tasks to end, unless told."""


async def cancel_all(tasks: set[asyncio.Task[Any]], within: float = STOP_WAIT) -> None:
    """Cancel ``tasks`` and wait (up to ``within`` s) for them to end."""
    pending = set(tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending and loop.time() < deadline:
        # cancelled again each round: a cancel that lands while a task's wake-up is
        # already queued can be lost under qasync, leaving the task asleep
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
