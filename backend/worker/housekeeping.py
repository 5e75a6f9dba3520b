"""Housekeeping: what keeps the shared keys bounded, done by every worker now and then.

Every ``housekeeping_every`` seconds (a setting, 5 by default) a worker removes
acknowledged entries from the task stream (:meth:`~backend.store.TaskStore.trim_stream`)
and the consumers that are gone from the group: no heartbeat, no entry held, and idle
for ``consumer_gone_after`` seconds (10 by default; a Go worker's ``dispatcher`` reads
all the time, so it stays); and it settles the index and history upkeep left for later
(:mod:`backend.store.backlog`), so the history counts a quiet cluster's last tasks in
their minute even when nothing reads it. Any worker may do it; doing it twice is
harmless.
"""

from __future__ import annotations

import logging

from backend.outage import Outage, keep_running
from backend.store import TaskStore

log = logging.getLogger("backend.worker")


async def housekeeping_loop(
    store: TaskStore, outage: Outage, name: str, *, every: float, gone_after: float
) -> None:
    """Trim the stream and forget gone consumers, a round every ``every`` seconds, for
    ever (``name``: this worker, never forgotten by itself; ``gone_after``: seconds a
    consumer with no heartbeat and nothing held must be idle to be removed)."""

    async def round() -> float:
        await store.settle()
        trimmed = await store.trim_stream()
        if trimmed:
            log.debug("trimmed %d acknowledged entries from the task stream", trimmed)
        gone = await store.forget_consumers(idle=gone_after, keep=name)
        if gone:
            log.info("removed %d consumer(s) gone from the group: %s", len(gone), ", ".join(gone))
        return every

    await keep_running(round, outage, name="housekeeping")
