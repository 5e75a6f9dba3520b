"""The one-command local cluster: the embedded broker plus real worker processes, kept alive.

With no broker configured, the panel calls :meth:`LocalCluster.start`: it starts (or
joins) the embedded server for the data directory, then starts ``workers`` worker
processes with ``REDIS_URL`` pointing at it. When this panel started the server, the
workers are named ``worker-1..N`` like the original's; when it joined one, they keep
their default ``host-pid`` names so two panels never share a name.

The panel supervises what it started (:meth:`LocalCluster.supervise`, a few times a
second): a worker that exits, whatever the reason, is reaped at once (no zombie) and
started again after a backoff that grows while it keeps dying young; an embedded
server this panel started that exits is started again on the same data directory and
port (its append-only file keeps every task), with the same backoff. Supervision goes
by the processes' exit, never by how fast they answer, so a busy server is left alone.

:meth:`LocalCluster.scale` changes the number of workers and their concurrency while
the panel runs: it starts the new ones, and drains the surplus ones (over the control
channel: they finish their running tasks, then exit 0; they are reaped, not restarted).
A worker that exits 0 (drained or stopped on request) is not restarted either.

:meth:`LocalCluster.stop` sends the workers SIGTERM, waits, kills what is left, then
stops the server if it owns it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from backend.broker import BrokerError, EmbeddedBroker
from backend.config import Settings
from backend.processes import terminate_all

log = logging.getLogger(__name__)

STOP_WAIT = 6.0
"""Seconds workers get to exit after SIGTERM before they are killed."""
WORKER_GRACE = 2.0
"""The workers' own grace period for running tasks (their ``DISTRITASK_GRACE_PERIOD``)."""
SUPERVISE_EVERY = 0.25
"""Seconds between two supervision rounds."""
BACKOFF_BASE, BACKOFF_CAP = 0.5, 30.0
"""Restart delays: ``BASE * 2**(deaths - 1)`` seconds, at most ``CAP``."""
HEALTHY_AFTER = 30.0
"""A process that ran this long before exiting starts its backoff afresh."""


def worker_command() -> list[str]:
    """How to run ``distritask worker`` from this interpreter or bundle."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "worker"]
    return [sys.executable, "-m", "backend.cli", "worker"]


def backoff(deaths: int) -> float:
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, deaths - 1)))


@dataclass
class Restarts:
    """When a supervised process started, how often it died young, when it runs next."""

    started: float = 0.0
    deaths: int = 0
    due: float | None = None
    """Monotonic time of the next start (``None``: running)."""

    def died(self, now: float) -> float:
        """Note an exit at ``now``; the delay before the restart."""
        self.deaths = 1 if now - self.started >= HEALTHY_AFTER else self.deaths + 1
        delay = backoff(self.deaths)
        self.due = now + delay
        return delay


@dataclass
class WorkerSlot:
    """One local worker: its name (``None``: the worker's default) and its process."""

    name: str | None
    process: subprocess.Popen[bytes]
    restarts: Restarts


def _server_exited(broker: EmbeddedBroker) -> int | None:
    """The exit status of the server ``broker`` started, or ``None`` while it runs."""
    process = broker.process
    return None if process is None else process.poll()


class LocalCluster:
    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.settings = settings
        self.count = settings.local_workers if workers is None else workers
        self.concurrency = settings.concurrency
        """Each local worker's ``--concurrency``."""
        self.leaving: list[WorkerSlot] = []
        """Workers told to drain: reaped once they exit, never restarted."""
        self._numbers = 0
        self.url = ""
        self.broker: EmbeddedBroker | None = None
        self.slots: list[WorkerSlot] = []
        self.broker_restarts = Restarts()
        self.last_problem = ""
        """What supervision last had to do or could not do (for the status bar)."""
        self.on_problem: Callable[[str], None] | None = None
        """Told each new :attr:`last_problem` (the panel shows it)."""
        self._logs: list[IO[bytes]] = []

    @property
    def log_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [slot.process for slot in [*self.slots, *self.leaving]]

    def start(self) -> str:
        """Start or join the broker, start the workers; the broker's URL."""
        if self.settings.redis_url:
            self.url = self.settings.redis_url
        else:
            self.broker = EmbeddedBroker(self.settings.data_dir, self.settings.broker_port)
            self.url = self.broker.start()
        for _ in range(self.count):
            self.start_worker(self._next_name())
        return self.url

    def _next_name(self) -> str | None:
        """``worker-N`` on a server this panel owns; the default ``host-pid`` otherwise."""
        if self.broker is None or not self.broker.owned:
            return None
        self._numbers += 1
        return f"worker-{self._numbers}"

    async def scale(
        self, workers: int, concurrency: int, drain: Callable[[str], Awaitable[int]]
    ) -> None:
        """Run ``workers`` workers of ``concurrency`` each: start the missing ones and
        drain the surplus (``drain(name)`` sends the order; a worker no one heard is sent
        SIGTERM). A new concurrency replaces every worker."""
        if workers < 0 or concurrency < 1:
            raise ValueError("workers must be >= 0 and concurrency >= 1")
        keep = [] if concurrency != self.concurrency else self.slots[:workers]
        surplus = [slot for slot in self.slots if slot not in keep]
        self.concurrency = concurrency
        self.slots = keep
        self.count = workers
        self.leaving.extend(surplus)
        for slot in surplus:
            name = slot.name or f"{socket.gethostname()}-{slot.process.pid}"
            if slot.process.poll() is None and not await drain(name):
                slot.process.terminate()
        while len(self.slots) < workers:
            self.start_worker(self._next_name())
        log.info("local cluster: %d worker(s) of concurrency %d", workers, concurrency)

    def start_worker(self, name: str | None = None) -> subprocess.Popen[bytes]:
        """One more worker process on this cluster's broker (supervised)."""
        slot = WorkerSlot(name, self._spawn(name), Restarts(started=time.monotonic()))
        self.slots.append(slot)
        return slot.process

    def _spawn(self, name: str | None) -> subprocess.Popen[bytes]:
        command = [*worker_command(), "--parent-pid", str(os.getpid())]
        command += ["--concurrency", str(self.concurrency)]
        if name:
            command += ["--name", name]
        env = {
            **os.environ,
            "REDIS_URL": self.url,
            "PYTHONUNBUFFERED": "1",
            "DISTRITASK_GRACE_PERIOD": str(WORKER_GRACE),
        }
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_dir / f"{name or 'worker'}-{len(self._logs) + 1}.log", "ab")  # noqa: SIM115
        self._logs.append(log_file)
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.info("started worker %s (pid %d)", name or "", process.pid)
        return process

    # -- supervision -----------------------------------------------------------------

    async def supervise(self, every: float = SUPERVISE_EVERY) -> None:
        """Run :meth:`check` every ``every`` seconds until cancelled."""
        while True:
            self.check()
            await asyncio.sleep(every)

    def check(self, now: float | None = None) -> None:
        """One round: reap and restart what exited (when its backoff is over)."""
        now = time.monotonic() if now is None else now
        self._check_broker(now)
        for slot in list(self.slots):
            self._check_worker(slot, now)
        self.leaving = [slot for slot in self.leaving if slot.process.poll() is None]  # reaped

    def _check_worker(self, slot: WorkerSlot, now: float) -> None:
        restarts = slot.restarts
        if restarts.due is None:
            status = slot.process.poll()  # reaps it: no zombie
            if status is None:
                return
            if status == 0:  # drained or stopped on request: one worker fewer
                self.slots.remove(slot)
                self.count = len(self.slots)
                self.last_problem = (
                    f"worker {slot.name or slot.process.pid} exited (drained or stopped); "
                    f"{self.count} local worker(s) left"
                )
                log.info("local %s", self.last_problem)
                self._report()
                return
            delay = restarts.died(now)
            self.last_problem = (
                f"worker {slot.name or slot.process.pid} exited ({status}); "
                f"restarting in {delay:.1f} s"
            )
            log.warning("local %s", self.last_problem)
            self._report()
        if restarts.due is not None and now >= restarts.due:
            slot.process = self._spawn(slot.name)
            restarts.started, restarts.due = now, None

    def _check_broker(self, now: float) -> None:
        broker, restarts = self.broker, self.broker_restarts
        if broker is None:
            return
        if restarts.due is None:
            status = _server_exited(broker)
            if status is None:
                return
            delay = restarts.died(now)
            self.last_problem = (
                f"the embedded server exited ({status}); restarting in {delay:.1f} s"
            )
            log.warning("%s", self.last_problem)
            self._report()
            broker.stop()  # forget the dead server; the port stays
        if restarts.due is not None and now >= restarts.due:
            try:
                broker.start()
            except BrokerError as exc:
                delay = restarts.died(now)
                self.last_problem = f"cannot restart the embedded server: {exc}"
                log.error("%s; next try in %.1f s", self.last_problem, delay)
                self._report()
                return
            restarts.started, restarts.due = now, None
            if not broker.owned:  # someone else's server took the directory: fine
                log.info("the embedded server is back (another process runs it)")

    def _report(self) -> None:
        if self.on_problem is not None:
            self.on_problem(self.last_problem)

    def stop(self) -> None:
        """Stop the workers (SIGTERM, wait, kill), then the broker if this started it."""
        for process in terminate_all(self.processes, within=STOP_WAIT):
            log.warning("worker pid %d did not stop; killed it", process.pid)
        self.slots.clear()
        self.leaving.clear()
        for log_file in self._logs:
            log_file.close()
        self._logs.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
