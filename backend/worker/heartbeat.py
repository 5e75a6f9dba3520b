"""The worker's heartbeat: who it is and what it is doing, about once a second.

The liveness key expires ``heartbeat_ttl`` seconds after the last beat, so a worker
killed with SIGKILL shows offline within a few seconds; a clean exit removes it at once.
Every :data:`FORGET_EVERY` seconds the heartbeat also deletes the records of workers
gone for over an hour.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

from backend import __version__
from backend.outage import Outage, keep_running
from backend.protocol import WorkerInfo
from backend.store import TaskStore

INTERVAL = 1.0
FORGET_EVERY = 60.0
"""Seconds between clean-ups of workers gone for over an hour (the store's getter
only leaves them out; a writer deletes them)."""


def default_name() -> str:
    """``host-pid``: unique per process."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Heartbeat:
    """Builds and sends this worker's :class:`WorkerInfo`."""

    def __init__(
        self,
        store: TaskStore,
        outage: Outage,
        *,
        name: str,
        concurrency: int,
        ttl: float,
        stats: Callable[[], tuple[list[str], int, int]],
    ) -> None:
        self.store = store
        self.outage = outage
        self.ttl = ttl
        self.stats = stats
        self.info = WorkerInfo(
            name=name,
            host=socket.gethostname(),
            pid=os.getpid(),
            concurrency=concurrency,
            started=time.time(),
            version=__version__,
        )

    async def beat(self) -> None:
        running, completed, failed = self.stats()
        self.info.running = running
        self.info.completed = completed
        self.info.failed = failed
        self.info.seen = time.time()
        await self.store.heartbeat(self.info, ttl=self.ttl)

    async def loop(self) -> None:
        interval = min(INTERVAL, self.ttl / 3)
        loop = asyncio.get_running_loop()
        forget_at = loop.time()

        async def round() -> float:
            nonlocal forget_at
            await self.beat()
            if loop.time() >= forget_at:
                await self.store.forget_stale_workers()
                forget_at = loop.time() + FORGET_EVERY
            return interval

        await keep_running(round, self.outage, name="the heartbeat")

    async def gone(self) -> None:
        """Say this worker has stopped (best effort: the key expires anyway)."""
        self.info.online = False
        self.info.running = []
        self.info.seen = time.time()
        await self.store.heartbeat(self.info, ttl=self.ttl)
        await self.store.worker_gone(self.info.name)
