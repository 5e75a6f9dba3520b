"""A worker started with ``--parent-pid`` stops when its parent dies (even by kill -9)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.waiting import eventually_sync


def test_a_worker_stops_cleanly_when_its_parent_is_killed(redis_url: str) -> None:
    # A stand-in for the panel: starts a worker with --parent-pid, prints its pid, waits.
    parent_code = textwrap.dedent(
        """
        import os, subprocess, sys, time
        worker = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker", "--name", "child",
             "--parent-pid", str(os.getpid())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        print(worker.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "REDIS_URL": redis_url},
    )
    assert parent.stdout is not None
    worker_pid = int(parent.stdout.readline())
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)

        def worker_gone() -> bool:
            try:  # gone, or a zombie waiting for whoever adopted it to reap it
                return Path(f"/proc/{worker_pid}/stat").read_text().split()[2] == "Z"
            except OSError:
                return True

        eventually_sync(worker_gone, within=15, interval=0.1)
    finally:
        if parent.poll() is None:
            parent.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker_pid, signal.SIGKILL)
