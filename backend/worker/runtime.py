"""The worker process: reads the task stream, runs handlers, records outcomes.

Reading takes entries in batches (XREADGROUP COUNT), from the first of the worker's
queues that has any (strict priority: :mod:`backend.store.queues`), up to a window:
the concurrency for slow tasks, plus a prefetch for cheap ones sized so queued work
waits ~20 ms at most (see :mod:`~backend.worker.prefetch`, which also hands back
entries that wait too long). ``concurrency`` slots (:mod:`~backend.worker.slots`) take
jobs from the local queue and run them; outcomes leave through the :class:`Outbox` in
batches. Around that: the reclaimer, the heartbeat, the promoter of due tasks and
periodic ticks (:mod:`backend.promoter`), the cancel listener, housekeeping, the
deadline watchdog and the keeper thread (keeps held entries fresh even while a
handler holds the event loop). Every loop is supervised
(:mod:`~backend.worker.supervisor`): one that dies stops the worker with exit status 1.

A stop (first SIGTERM or SIGINT) stops reading, lets held tasks finish within the
grace period, writes their outcomes and exits 0. Whatever the handlers do, the
process is gone within the grace period + 5 s: handler threads and handlers that
ignore cancellation are left behind (the caller exits without waiting for them), and
a timer thread ends a process whose event loop is held. The control channel's
orders: ``drain`` is such a stop with no time limit; ``stop`` is one with no grace at
all (running tasks are left to be reclaimed by other workers), also exiting 0. The
stop sequence itself is :mod:`~backend.worker.shutdown`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Callable

from backend.broker_url import describe
from backend.config import Settings
from backend.connection import client, misconfigured, wait_until_up
from backend.handlers import Registry
from backend.handlers import registry as default_registry
from backend.loops import kind as loop_kind
from backend.outage import Outage
from backend.promoter import Promoter
from backend.store import TaskStore
from backend.worker import parent, shutdown, signals, watchdog
from backend.worker.control import Cancels
from backend.worker.executor import Executor
from backend.worker.heartbeat import Heartbeat, default_name
from backend.worker.housekeeping import housekeeping_loop
from backend.worker.intake import Intake
from backend.worker.keeper import Keeper
from backend.worker.outbox import Outbox
from backend.worker.prefetch import Prefetch, hand_back_loop
from backend.worker.reader import Reader
from backend.worker.reclaim import Reclaimer, refresh_interval
from backend.worker.slots import Slots
from backend.worker.supervisor import Supervisor
from backend.worker.threads import HandlerThreads

log = logging.getLogger("backend.worker")


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
        self.queues = list(dict.fromkeys(settings.queues))
        """The queues to take from, in strict priority order."""
        self.on_abort = on_abort
        self.exit_code = 0
        self.stopping = asyncio.Event()
        self.grace = settings.grace_period
        """Seconds running tasks get once stopping (``inf`` once drained, 0 once stopped now)."""
        self._stopped_now = False
        self._serving = False
        """Whether the reading loops run (a stop then ends their blocking read early)."""
        self.prefetch = Prefetch(self.concurrency)
        self.supervisor = Supervisor(on_crash=self._failed)
        self.threads = HandlerThreads()
        self.leftovers = ""
        """After :meth:`run`: what handlers still run (threads, stuck coroutines) and
        would keep the process alive; the caller then exits without waiting for them."""
        # Collaborators: made here, so the object is whole from the start (the client
        # connects on first use; :meth:`run` waits for the broker before serving).
        self.redis = client(url, cluster=settings.cluster, name=self.name)
        self.outage = outage = Outage(describe(url), log)
        self.store = store = TaskStore.from_settings(self.redis, settings)
        self.outbox = Outbox(store, outage)
        self.cancels = Cancels(
            store,
            outage,
            lambda task_id: self.slots.cancel(task_id),
            worker=self.name,
            on_order=self._on_order,
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
            max_result=settings.max_result,
        )
        self.slots = Slots(
            self.concurrency,
            self.executor,
            self.outbox,
            self.prefetch,
            after_run=lambda: self.reader.ran(),
        )
        self.queue, self.running = self.slots.queue, self.slots.running
        self.reader = Reader(
            store,
            outage,
            self.intake,
            self.slots,
            self.outbox,
            self.prefetch,
            self.name,
            self.queues,
        )
        self.reclaimer = Reclaimer(
            store,
            outage,
            self.name,
            settings.claim_idle,
            room=self.reader.room,
            queues=self.queues,
            foreign_claim_idle=settings.foreign_claim_idle,
            accept=lambda entries, deliveries: self.reader.accept(
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
        self.keeper = Keeper(
            url,
            self.name,
            refresh_interval(settings.claim_idle),
            held=self.held,
            running=self.slots.running_names,
            on_error=self._failed,
            cluster="on" if store.keys.cluster else "off",
        )

    def held(self) -> list[bytes]:
        """Entries this worker must keep from being reclaimed (any thread)."""
        return self.reader.held()

    # -- lifecycle ---------------------------------------------------------------------

    def _queue_changed(self) -> None:
        """Jobs went back to the local queue, or back to the stream: run them, or read."""
        self.slots.wake()
        self.reader.wake()

    def stop(self) -> None:
        """Stop taking work; running tasks finish within the grace period."""
        first = not self.stopping.is_set()
        self.stopping.set()
        self.reader.wake()
        if first and self._serving:
            self.supervisor.spawn(self.reader.end_read())

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
        for slot in self.slots.tasks:
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
        loop.set_default_executor(self.threads)
        hard_stop = self.settings.grace_period + shutdown.HARD_STOP_AFTER
        signals.install(loop, self.stop, self._abort, hard_stop_after=hard_stop)
        if self.settings.parent_pid is not None:
            self.supervisor.spawn(parent.watch(self.settings.parent_pid, self.stop))
        try:
            if await wait_until_up(self.redis, self.url, unless=self.stopping):
                await self._serve()
        except Exception as exc:
            hint = misconfigured(exc)
            if hint is None:
                log.exception("internal error; stopping")
            else:
                log.error("stopping: %s", hint)
            self.exit_code = 1
        finally:
            self.keeper.stop()
            signals.uninstall()
            await shutdown.close(self)
        self.leftovers = shutdown.leftovers(self)
        return self.exit_code

    async def _serve(self) -> None:
        store, outage, reclaimer = self.store, self.outage, self.reclaimer
        await outage.persist(lambda: store.ensure_groups(self.queues))
        for schedule in self.registry.schedules.values():  # @task(cron=...) in --tasks
            await outage.persist(functools.partial(store.ensure_schedule, schedule))
        await self.cancels.open()
        await outage.persist(self.heartbeat.beat)
        self.keeper.start()
        for coro in (
            self.keeper.ticks(),
            self.outbox.run(),
            self.heartbeat.loop(),
            Promoter(store, outage).run(),
            self.cancels.listen(),
            self.cancels.reload_loop(),
            watchdog.watch(self.running.values, self.slots.abandon),
            hand_back_loop(self.store, self.outage, self.queue, self.prefetch, self._queue_changed),
            housekeeping_loop(
                store,
                outage,
                self.name,
                every=self.settings.housekeeping_every,
                gone_after=self.settings.consumer_gone_after,
            ),
        ):
            self.supervisor.spawn(coro)
        await self.reader.resume_own()
        intake = [
            self.supervisor.supervised(self.reader.read_loop(self.stopping)),
            self.supervisor.supervised(reclaimer.claim_loop(self.stopping)),
        ]
        self._serving = True
        self.slots.start(self.supervisor.supervised)
        if self._stopped_now:  # while starting
            for slot in self.slots.tasks:
                slot.cancel()
        log.info(
            "worker %s ready: concurrency %d, queues %s, broker %s, loop %s, tasks: %s",
            self.name,
            self.concurrency,
            ",".join(self.queues),
            describe(self.url),
            loop_kind(),
            ", ".join(self.registry.names()),
        )
        await self.stopping.wait()
        await shutdown.drain(self, intake)

    def _failed(self, exc: BaseException) -> None:
        """A loop (or the keeper thread) died: stop, and exit non-zero."""
        self.exit_code = 1
        self.stop()

    def _stats(self) -> tuple[list[str], int, int]:
        running = [job.task_id for job in self.running.values()]
        return running, self.executor.completed, self.executor.failed
