"""The worker process: reads the task stream, runs handlers, records outcomes.

Reading takes entries in batches (XREADGROUP COUNT) up to a window: the concurrency
for slow tasks, plus a prefetch for cheap ones sized so queued work waits ~20 ms at
most (see :mod:`~backend.worker.prefetch`, which also hands back entries that wait too
long). ``concurrency`` slot coroutines take jobs from the local queue and run them;
outcomes leave through the :class:`Outbox` in batches. Around that: the reclaimer,
the heartbeat, the retry promoter, the cancel listener and the deadline watchdog. A
stop (first SIGTERM or SIGINT) stops reading, lets held tasks finish within the grace
period, writes their outcomes and exits 0. The control channel's orders: ``drain``
is such a stop with no time limit; ``stop`` is one with no grace at all (running tasks
are left to be reclaimed by other workers), also exiting 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from backend.config import Settings
from backend.connection import client, describe, is_broker_down, wait_until_up
from backend.handlers import Registry
from backend.handlers import registry as default_registry
from backend.outage import Outage, keep_running
from backend.store import Entry, TaskStore
from backend.worker import parent, signals, watchdog
from backend.worker.control import Cancels
from backend.worker.executor import Executor
from backend.worker.heartbeat import Heartbeat, default_name
from backend.worker.intake import Intake
from backend.worker.job import Job
from backend.worker.outbox import Outbox
from backend.worker.prefetch import HAND_BACK_AFTER, PREFETCH_MAX, Prefetch, hand_back
from backend.worker.reclaim import Reclaimer
from backend.worker.retries import promote_interval, promote_loop

log = logging.getLogger("backend.worker")

READ_BLOCK_MS = 1000
YIELD_EVERY = 0.005
"""Seconds a slot may run cheap tasks back to back before letting others run."""
SHUTDOWN_WRITE = 5.0
"""Seconds the final outcomes get to be written when the grace period is over."""


class Worker:
    """One worker process's runtime."""

    def __init__(
        self,
        settings: Settings,
        url: str,
        *,
        registry: Registry = default_registry,
        on_abort: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.registry = registry
        self.name = settings.worker_name or default_name()
        self.concurrency = settings.concurrency
        self.on_abort = on_abort
        self.exit_code = 0
        self.stopping = asyncio.Event()
        self.grace = settings.grace_period
        """Seconds running tasks get once stopping (``inf`` once drained, 0 once stopped now)."""
        self._slots: list[asyncio.Task[Any]] = []
        self._stopped_now = False
        self.queue: deque[Job] = deque()
        self.running: dict[bytes, Job] = {}
        self._work = asyncio.Event()
        self._room_freed = asyncio.Event()
        self._closing = False
        self.prefetch = Prefetch(self.concurrency)
        self._background: list[asyncio.Task[Any]] = []
        # Collaborators: made here, so the object is whole from the start (the client
        # connects on first use; :meth:`run` waits for the broker before serving).
        self.redis = client(url)
        self.outage = outage = Outage(describe(url), log)
        self.store = store = TaskStore(self.redis, retention=settings.retention)
        self.outbox = Outbox(store, outage)
        self.cancels = Cancels(
            store, outage, self._on_cancel, worker=self.name, on_order=self._on_order
        )
        self.intake = Intake(store, self.outbox, outage, self.cancels, self.name)
        self.executor = Executor(
            store,
            self.outbox,
            outage,
            self.registry,
            self.cancels,
            task_timeout=settings.task_timeout,
            max_retries=settings.max_retries,
            retry_backoff=settings.retry_backoff,
        )
        self.reclaimer = Reclaimer(
            store,
            outage,
            self.name,
            settings.claim_idle,
            room=self.room,
            held=self.held,
            foreign_claim_idle=settings.foreign_claim_idle,
            accept=lambda entries, deliveries: self._accept(
                entries, reclaimed=True, deliveries=deliveries
            ),
        )
        self.heartbeat = Heartbeat(
            store,
            outage,
            name=self.name,
            concurrency=self.concurrency,
            ttl=settings.heartbeat_ttl,
            stats=self._stats,
        )

    # -- capacity ----------------------------------------------------------------------

    def room(self) -> int:
        return self.prefetch.window - len(self.queue) - len(self.running)

    def held(self) -> list[bytes]:
        """Entries this worker must keep from being reclaimed."""
        return [
            *(job.entry_id for job in self.queue),
            *self.running,
            *self.outbox.unacked,
        ]

    # -- lifecycle ---------------------------------------------------------------------

    def stop(self) -> None:
        """Stop taking work; running tasks finish within the grace period."""
        self.stopping.set()
        self._room_freed.set()

    def drain(self) -> None:
        """Take no new tasks, let the running ones finish however long they take, exit 0."""
        if self._stopped_now:
            return
        log.warning(
            "drain requested: finishing %d running task(s), then exiting", len(self.running)
        )
        self.grace = math.inf
        self.heartbeat.info.draining = True
        self.stop()

    def stop_now(self) -> None:
        """Exit at once: running tasks are left to be reclaimed by other workers."""
        log.warning("stop requested: leaving %d running task(s) to be reclaimed", len(self.running))
        self.grace = 0.0
        self._stopped_now = True
        self.heartbeat.info.draining = True
        for slot in self._slots:
            slot.cancel()
        self.stop()

    def _on_order(self, order: str) -> None:
        if order == "drain":
            self.drain()
        elif order == "stop":
            self.stop_now()

    def _abort(self, signum: int) -> None:
        if self.on_abort is not None:
            self.on_abort(signum)

    async def run(self) -> int:
        """Run until stopped; the exit status."""
        loop = asyncio.get_running_loop()
        signals.install(loop, self.stop, self._abort)
        if self.settings.parent_pid is not None:
            self._spawn(parent.watch(self.settings.parent_pid, self.stop))
        try:
            if await self._reachable():
                await self._serve()
        finally:
            signals.uninstall(loop)
            await self.redis.aclose()
        return self.exit_code

    async def _reachable(self) -> bool:
        """Wait for the broker; ``False`` when stopped first."""
        connecting = asyncio.create_task(wait_until_up(self.redis, self.url))
        stopped = asyncio.create_task(self.stopping.wait())
        await asyncio.wait({connecting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not connecting.done():
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            return False
        connecting.result()
        return True

    async def _serve(self) -> None:
        settings, store, outage, reclaimer = self.settings, self.store, self.outage, self.reclaimer
        await outage.persist(store.ensure_group)
        await self.cancels.open()
        await outage.persist(self.heartbeat.beat)
        for coro in (
            self.outbox.run(),
            self.heartbeat.loop(),
            reclaimer.refresh_loop(self.stopping),
            promote_loop(store, outage, promote_interval(settings.retry_backoff)),
            self.cancels.listen(),
            self.cancels.reload_loop(),
            watchdog.watch(self.running.values),
            self._hand_back_loop(),
        ):
            self._spawn(coro)
        await self._resume_own()
        intake = [
            self._supervised(self._read_loop()),
            self._supervised(reclaimer.claim_loop(self.stopping)),
        ]
        slots = self._slots = [self._supervised(self._slot()) for _ in range(self.concurrency)]
        if self._stopped_now:  # while starting
            for slot in slots:
                slot.cancel()
        log.info(
            "worker %s ready: concurrency %d, broker %s, tasks: %s",
            self.name,
            self.concurrency,
            describe(self.url),
            ", ".join(self.registry.names()),
        )
        await self.stopping.wait()
        await self._drain(intake, slots)

    async def _drain(self, intake: list[asyncio.Task[Any]], slots: list[asyncio.Task[Any]]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace  # inf when draining
        await asyncio.wait(intake)
        await self._hand_back()
        self._closing = True
        self._work.set()
        # A stop-now order during the wait cancels the slots itself.
        timeout = None if math.isinf(deadline) else max(0.0, deadline - loop.time())
        _, unfinished = await asyncio.wait(slots, timeout=timeout)
        if math.isinf(deadline):
            deadline = loop.time()
        if unfinished:
            log.warning("grace period over: leaving %d task(s) to be reclaimed", len(self.running))
            for slot in unfinished:
                slot.cancel()
            await asyncio.wait(unfinished)
        try:
            async with asyncio.timeout(max(SHUTDOWN_WRITE, deadline - loop.time())):
                await self.outbox.drain()
                await self.heartbeat.gone()
        except TimeoutError:
            log.warning("could not write the last outcomes; those tasks will run again")
        except Exception as exc:
            if not is_broker_down(exc):
                raise
            log.warning("could not say goodbye to the broker: %s", exc)
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        log.info("worker %s stopped", self.name)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a background loop (cancelled at the end of the drain), supervised."""
        self._background.append(self._supervised(coro))

    def _supervised(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start an essential loop: if it dies, the worker stops and exits non-zero
        (never "online" with a loop gone)."""
        task = asyncio.create_task(coro, name=getattr(coro, "__qualname__", None))
        task.add_done_callback(self._crashed)
        return task

    def _crashed(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("internal error in %s; stopping", task.get_name(), exc_info=task.exception())
        self.exit_code = 1
        self.stop()

    def _stats(self) -> tuple[list[str], int, int]:
        running = [job.task_id for job in self.running.values()]
        return running, self.executor.completed, self.executor.failed

    # -- intake ------------------------------------------------------------------------

    async def _resume_own(self) -> None:
        """Entries delivered to this consumer name before (a restart with ``--name``)."""
        entries = await self.outage.persist(lambda: self.store.read_own(self.name, PREFETCH_MAX))
        if entries:
            log.info("resuming %d task(s) left pending under this name", len(entries))
            await self._accept(entries, reclaimed=True)

    async def _read_loop(self) -> None:
        async def round() -> None:
            room = self.room()
            if room < self.prefetch.read_threshold:
                self._room_freed.clear()
                await self._room_freed.wait()
                return
            entries = await self.store.read_new(self.name, room, READ_BLOCK_MS)
            if entries:
                await self._accept(entries, reclaimed=False)

        await keep_running(round, self.outage, name="the reader", until=self.stopping)

    async def _accept(
        self,
        entries: Sequence[Entry],
        *,
        reclaimed: bool,
        deliveries: Mapping[bytes, int] | None = None,
    ) -> None:
        if reclaimed:
            mine = set(self.held())
            entries = [entry for entry in entries if entry[0] not in mine]
        jobs = await self.intake.prepare(entries, reclaimed=reclaimed, deliveries=deliveries)
        if jobs:
            now = asyncio.get_running_loop().time()
            for job in jobs:
                job.queued = now
            self.queue.extend(jobs)
            self._work.set()

    async def _hand_back_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(HAND_BACK_AFTER / 2)
            if self.queue and self.queue[0].queued < loop.time() - HAND_BACK_AFTER:
                self.prefetch.misjudged()
                await self._hand_back(queued_before=loop.time() - HAND_BACK_AFTER)

    async def _hand_back(self, queued_before: float = float("inf")) -> None:
        """Give queued jobs back to the stream (all of them, by default)."""
        jobs = [j for j in self.queue if j.queued < queued_before and not j.cancel_requested]
        if not jobs:
            return
        for job in jobs:
            self.queue.remove(job)
        try:
            await hand_back(self.store, jobs)
        except Exception as exc:
            if not is_broker_down(exc):
                raise
            self.queue.extendleft(reversed(jobs))  # keep them; try again later
            await self.outage.failed(exc)
            return
        log.info("handed %d waiting task(s) back to the queue", len(jobs))

    def _on_cancel(self, task_id: str) -> None:
        for job in [*self.running.values(), *self.queue]:
            if job.task_id == task_id:
                log.info("task %s: cancel requested", task_id)
                job.cancel()

    # -- running -----------------------------------------------------------------------

    async def _slot(self) -> None:
        loop = asyncio.get_running_loop()
        last_yield = loop.time()
        while True:
            if not self.queue:
                if self._closing:
                    return
                self._work.clear()
                await self._work.wait()
                last_yield = loop.time()
                continue
            job = self.queue.popleft()
            await self._run(job)
            if self.room() >= self.prefetch.read_threshold:
                self._room_freed.set()
            if loop.time() - last_yield > YIELD_EVERY:
                await asyncio.sleep(0)
                last_yield = loop.time()

    async def _run(self, job: Job) -> None:
        self.running[job.entry_id] = job
        started = time.perf_counter()
        try:
            await self.executor.run(job)
        except Exception:
            log.exception("task %s: internal error; it will be reclaimed", job.task_id)
        finally:
            del self.running[job.entry_id]
        took = time.perf_counter() - started
        self.prefetch.observe(took)
        if not self.queue and not self.running:
            self.outbox.flush_soon()
