"""Promoting due retries: any live worker moves them from the schedule to the stream."""

from __future__ import annotations

import logging

from backend.outage import Outage, keep_running
from backend.store import TaskStore

log = logging.getLogger("backend.worker")


def promote_interval(retry_backoff: float) -> float:
    """How often to look: often enough for the shortest backoff, at most once a second."""
    return min(1.0, max(0.05, retry_backoff / 2))


async def promote_loop(store: TaskStore, outage: Outage, interval: float) -> None:
    """Move due retries onto the task stream, for ever."""

    async def round() -> float:
        moved = await store.promote_due_retries()
        if moved:
            log.info("re-queued %d task(s) due for retry", moved)
        return interval

    await keep_running(round, outage, name="the retry promoter")
