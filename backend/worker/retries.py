"""Promoting due retries: any live worker moves them from the schedule to the stream."""

from __future__ import annotations

import asyncio
import logging

from backend.store import TaskStore
from backend.worker.outage import Outage, is_transient

log = logging.getLogger("backend.worker")


def promote_interval(retry_backoff: float) -> float:
    """How often to look: often enough for the shortest backoff, at most once a second."""
    return min(1.0, max(0.05, retry_backoff / 2))


async def promote_loop(store: TaskStore, outage: Outage, interval: float) -> None:
    """Move due retries onto the task stream, for ever."""
    while True:
        try:
            moved = await store.promote_due_retries()
        except Exception as exc:
            if not is_transient(exc):
                raise
            await outage.failed(exc)
            continue
        if moved:
            log.info("re-queued %d task(s) due for retry", moved)
        await asyncio.sleep(interval)
