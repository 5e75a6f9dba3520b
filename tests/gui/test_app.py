"""The panel as a process: SIGTERM stops the workers and the embedded broker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.waiting import eventually_sync


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_sigterm_stops_the_local_cluster_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    log = tmp_path / "panel.log"
    with open(log, "wb") as out:
        panel = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distritask_gui",
                "--local-workers",
                "2",
                "--data-dir",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def connected() -> bool:
            assert panel.poll() is None, log.read_text()
            return "connected" in log.read_text()

        eventually_sync(connected, within=30, interval=0.1, what="the panel to connect")
        text = log.read_text()
        pids = [int(p) for p in re.findall(r"started worker worker-\d \(pid (\d+)\)", text)]
        assert len(pids) == 2, text
        assert (tmp_path / "data" / "broker.json").exists()
        panel.send_signal(signal.SIGTERM)
        assert panel.wait(timeout=20) == 0, log.read_text()
    finally:
        if panel.poll() is None:
            panel.kill()
            panel.wait()
    assert not any(_alive(pid) for pid in pids)
    assert not (tmp_path / "data" / "broker.json").exists()
    assert "stopped the embedded server" in log.read_text()
