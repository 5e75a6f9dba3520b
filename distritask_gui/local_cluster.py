"""The one-command local cluster: the embedded broker plus real worker processes.

With no broker configured, the panel calls :meth:`LocalCluster.start`: it starts (or
joins) the embedded server for the data directory through
:func:`backend.broker.use_broker`, then starts ``workers`` worker processes with
``REDIS_URL`` pointing at it. When this panel started the server, the workers are
named ``worker-1..N`` like the original's; when it joined one, they keep their default
``host-pid`` names so two panels never share a name. :meth:`LocalCluster.stop` sends
the workers SIGTERM, waits, kills what is left, then stops the server if it owns it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from backend.broker import use_broker
from backend.config import Settings
from backend.processes import terminate_all

log = logging.getLogger(__name__)

STOP_WAIT = 6.0
"""Seconds workers get to exit after SIGTERM before they are killed."""
WORKER_GRACE = 2.0
"""The workers' own grace period for running tasks (their ``DISTRITASK_GRACE_PERIOD``)."""


def worker_command() -> list[str]:
    """How to run ``distritask worker`` from this interpreter or bundle."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "worker"]
    return [sys.executable, "-m", "backend.cli", "worker"]


class LocalCluster:
    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.settings = settings
        self.count = settings.local_workers if workers is None else workers
        self.url = ""
        self._broker = contextlib.ExitStack()
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    @property
    def log_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    def start(self) -> str:
        """Start or join the broker, start the workers; the broker's URL."""
        broker = self._broker.enter_context(use_broker(self.settings))
        self.url = broker.url
        for number in range(1, self.count + 1):
            self.start_worker(f"worker-{number}" if broker.owned else None)
        return self.url

    def start_worker(self, name: str | None = None) -> subprocess.Popen[bytes]:
        """One more worker process on this cluster's broker."""
        command = [*worker_command(), "--parent-pid", str(os.getpid())]
        if name:
            command += ["--name", name]
        env = {
            **os.environ,
            "REDIS_URL": self.url,
            "PYTHONUNBUFFERED": "1",
            "DISTRITASK_GRACE_PERIOD": str(WORKER_GRACE),
        }
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_dir / f"{name or 'worker'}-{len(self.processes) + 1}.log", "ab")  # noqa: SIM115
        self._logs.append(log_file)
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.processes.append(process)
        log.info("started worker %s (pid %d)", name or "", process.pid)
        return process

    def stop(self) -> None:
        """Stop the workers (SIGTERM, wait, kill), then the broker if this started it."""
        for process in terminate_all(self.processes, within=STOP_WAIT):
            log.warning("worker pid %d did not stop; killed it", process.pid)
        self.processes.clear()
        for log_file in self._logs:
            log_file.close()
        self._logs.clear()
        self._broker.close()
