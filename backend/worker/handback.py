"""Handing prefetched entries back to the queue.

A worker reads ahead of its free slots when tasks are cheap (see ``Worker.window``).
When that guess is wrong (a slow task arrives after fast ones), entries wait in this
worker while other workers idle. Entries that have waited past
:data:`HAND_BACK_AFTER` without starting, and every waiting entry when the worker
stops, go back to the stream: the same ``task_data`` added as a new entry and the
old one acknowledged, in one MULTI, so the task is never lost (at worst, with the
connection lost mid-way, it is queued twice and runs at least once).
"""

from __future__ import annotations

from collections.abc import Sequence

from backend import keys
from backend.store import TaskStore
from backend.worker.job import Job

HAND_BACK_AFTER = 0.5
"""Seconds a prefetched entry may wait for a free slot before it is handed back."""


async def hand_back(store: TaskStore, jobs: Sequence[Job]) -> None:
    """Queue ``jobs`` again for any worker and release this worker's entries."""
    if not jobs:
        return
    async with store.redis.pipeline(transaction=True) as pipe:
        for job in jobs:
            pipe.xadd(keys.TASK_STREAM, {keys.TASK_FIELD: job.raw})
        pipe.xack(keys.TASK_STREAM, keys.WORKER_GROUP, *(job.entry_id for job in jobs))
        await pipe.execute()
