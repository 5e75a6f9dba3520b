"""The keeper: a thread that keeps this worker's entries from looking abandoned.

An entry a worker holds must be touched (XCLAIM to itself, JUSTID) well inside
``claim_idle``, or another worker takes it over and runs the task a second time.
That must not depend on a free event loop: a handler that holds the loop (CPU-bound
``async def``) would otherwise lose its hold. So a thread with its own synchronous
connection does it, and also notices when the loop stops answering: it logs that
once per stall, naming the tasks running at the time.

A broker outage is retried (the worker's own loops log it, once); an error reply is
a bug: it is handed to ``on_error`` on the loop (the worker stops with exit 1), never
swallowed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence

import redis

from backend.cluster_probe import ClusterMode
from backend.connection import is_broker_down, sync_client
from backend.store import keep_sync

log = logging.getLogger("backend.worker")

BLOCKED_AFTER = 2.0
"""Seconds without a tick from the event loop before it is reported blocked."""
TICK_EVERY = 0.25
"""Seconds between the event loop's ticks."""


class Keeper(threading.Thread):
    """Touches ``held()`` every ``interval`` seconds; watches the loop's ticks."""

    def __init__(
        self,
        url: str,
        consumer: str,
        interval: float,
        *,
        held: Callable[[], Sequence[bytes]],
        running: Callable[[], Sequence[str]],
        on_error: Callable[[BaseException], None],
        cluster: ClusterMode = "auto",
    ) -> None:
        super().__init__(name="distritask-keeper", daemon=True)
        self.url = url
        self.cluster: ClusterMode = cluster
        """Whether ``url`` is a cluster node (as the worker found: see :func:`sync_client`)."""
        self.consumer = consumer
        self.interval = interval
        self._held = held
        self._running = running
        self._on_error = on_error
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self.tick = time.monotonic()
        """When the event loop last ticked (see :meth:`ticks`)."""

    async def ticks(self) -> None:
        """Run on the event loop: prove it is free, for ever."""
        while True:
            self.tick = time.monotonic()
            await asyncio.sleep(TICK_EVERY)

    def start(self) -> None:
        """Start the thread (from the event loop it reports to)."""
        self._loop = asyncio.get_running_loop()
        super().start()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        client = sync_client(self.url, cluster=self.cluster)
        try:
            self._keep(client)
        except Exception as exc:  # a bug: stop the worker, never carry on without a hold
            log.error("keeping held tasks failed; stopping", exc_info=exc)
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._on_error, exc)
        finally:
            client.close()

    def _keep(self, client: redis.Redis) -> None:
        check = min(self.interval, BLOCKED_AFTER / 2)
        next_keep = time.monotonic() + self.interval
        down = False
        blocked_since: float | None = None
        while not self._stop.wait(check):
            now = time.monotonic()
            blocked_since = self._watch_loop(now, blocked_since)
            if now < next_keep:
                continue
            try:
                keep_sync(client, self.consumer, self._held_now())
            except Exception as exc:
                if not is_broker_down(exc):
                    raise
                if not down:  # the worker's loops report the outage (once)
                    log.debug("keeping held tasks: broker away (%s); retrying", exc)
                down = True
                next_keep = now + min(1.0, self.interval)
                continue
            down = False
            next_keep = now + self.interval

    def _held_now(self) -> Sequence[bytes]:
        for _ in range(10):
            try:
                return self._held()
            except RuntimeError:  # changed while being copied: copy again
                continue
        return self._held()

    def _watch_loop(self, now: float, blocked_since: float | None) -> float | None:
        """Log once when the loop stops ticking, and once when it ticks again."""
        silent = now - self.tick
        if silent < BLOCKED_AFTER:
            if blocked_since is not None:
                log.warning("event loop free again after %.1f s", now - blocked_since)
            return None
        if blocked_since is None:
            try:
                running = ", ".join(self._running()) or "no task"
            except RuntimeError:
                running = "tasks changing"
            log.warning(
                "event loop blocked for %.1f s (running: %s); its held tasks are kept anyway",
                silent,
                running,
            )
            return self.tick
        return blocked_since
