"""Each named queue's figures (``GET /queues``, the panel's board, the alerts): how
deep it is, what waits and for how long, who consumes it, what is scheduled, and
whether it is paused (:mod:`backend.store.queues`). The ``default`` stream's own
depth and its consumers are :mod:`backend.store.consumers`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend import keys
from backend.store.base import text
from backend.store.queue import Queue


@dataclass(slots=True)
class QueueInfo:
    """One queue's figures (``GET /queues``)."""

    name: str
    stream: str
    depth: int
    """Tasks not finished: waiting (``lag``) plus taken and not acknowledged (``pending``)."""
    lag: int
    """Entries not delivered to any worker yet."""
    pending: int
    """Entries delivered and not acknowledged (running, or held by a dead worker)."""
    consumers: int
    """Worker consumers the group knows on this stream."""
    oldest_age: float | None
    """Seconds the oldest waiting entry has waited (``None``: none waits)."""
    scheduled: int
    """Delayed tasks and retries waiting for their time."""
    paused: bool


class QueueFigures(Queue):
    """The queues' figures, read in one round trip (plus one per queue that has
    entries waiting)."""

    async def queue_infos(self, queues: Sequence[str] | None = None) -> list[QueueInfo]:
        """Each queue's figures (every known queue by default), in one round trip
        plus one per queue with entries waiting (its oldest one's age)."""
        names = list(queues) if queues is not None else await self.queue_names()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.smembers(self.keys.PAUSED_QUEUES)
            for name in names:
                pipe.xinfo_groups(self.keys.stream(name))
                pipe.zcard(self.keys.due(name))
                pipe.xlen(self.keys.stream(name))
            replies = await pipe.execute(raise_on_error=False)
        paused = {text(name) for name in replies[0]}
        now = time.time()
        infos: list[QueueInfo] = []
        for index, name in enumerate(names):
            groups, scheduled, length = replies[1 + 3 * index : 4 + 3 * index]
            group = _our_group(groups)
            # No group yet (no worker ever read the queue): every entry waits.
            lag = int(group.get("lag") or 0) if group else int(length)
            pending = int(group.get("pending") or 0)
            oldest = None
            if lag:
                after = text(group["last-delivered-id"]) if group else "0-0"
                oldest = await self._oldest_waiting(name, after, now)
            infos.append(
                QueueInfo(
                    name=name,
                    stream=self.keys.stream(name),
                    depth=lag + pending,
                    lag=lag,
                    pending=pending,
                    consumers=int(group.get("consumers") or 0),
                    oldest_age=oldest,
                    scheduled=scheduled if isinstance(scheduled, int) else 0,
                    paused=name in paused,
                )
            )
        return infos

    async def _oldest_waiting(self, queue: str, last_delivered: str, now: float) -> float | None:
        first = await self.redis.xrange(self.keys.stream(queue), min="(" + last_delivered, count=1)
        if not first:
            return None
        millis = int(text(first[0][0]).split("-")[0])
        return max(0.0, now - millis / 1000)


def _our_group(groups: Any) -> dict[str, Any]:
    """The worker group's XINFO GROUPS record (empty when the stream or group is missing)."""
    if isinstance(groups, Exception):
        return {}
    for group in groups or []:
        if text(group.get("name", b"")) == keys.WORKER_GROUP:
            return group
    return {}
