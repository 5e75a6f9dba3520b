"""Stopping child processes: ask all of them at once, then insist on stragglers."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterable
from typing import Any


def terminate_all(
    processes: Iterable[subprocess.Popen[Any]], within: float
) -> list[subprocess.Popen[Any]]:
    """SIGTERM every running process, wait up to ``within`` seconds for all of them in
    total, then SIGKILL the ones still running; the ones that had to be killed."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + within
    killed = []
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            killed.append(process)
    return killed
