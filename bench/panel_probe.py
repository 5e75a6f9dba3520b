"""The panel under load, measured from inside (run as its own process, offscreen).

``python -m distritask_bench.panel_probe URL TASKS SECONDS RATE [RATE ...]`` opens the
real :class:`~distritask_gui.window.MainWindow` with its real :class:`Bridge` and
models on the broker at URL, where TASKS states are already recorded, then:

1. times the opening: from ``bridge.start()`` until the board has loaded (its
   cards, and the counts of all TASKS retained tasks in its totals) and the window
   has drawn a frame of it; then reads the resident memory;
2. for each RATE, runs :mod:`.publisher` for SECONDS and, while it publishes, records
   the event loop's lag (a 10 ms timer measuring its own lateness), the frames drawn
   (``UpdateRequest`` events of the window: one per repaint of its backing store),
   the model's flushes and the updates the bridge received; then how long the panel
   took to receive the rest (``drain``).

Prints one JSON line. Qt settings go to a test location (``QStandardPaths`` test
mode), so the user's saved window geometry and broker URL are not touched.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import asyncio
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, Signal

from backend.waiting import wait_until

from .stats import ms, percentile, rate

LAG_INTERVAL = 0.010
DRAIN_LIMIT = 30.0
LOAD_LIMIT = 120.0


def rss_mb() -> float:
    """Resident memory now, in MB."""
    with open("/proc/self/statm") as handle:
        resident = int(handle.read().split()[1])
    return resident * resource.getpagesize() / 1e6


class FrameCounter(QObject):
    """Timestamps of the window's repaints."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.UpdateRequest:
            self.times.append(time.time())
        return False


class LagMeter:
    """A repeating timer that records how late each tick ran."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(int(LAG_INTERVAL * 1000))
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.samples.append((time.time(), max(0.0, now - self._last - LAG_INTERVAL)))
        self._last = now

    def stop(self) -> None:
        self._timer.stop()


def _within(times: list[float], start: float, end: float) -> int:
    return sum(1 for t in times if start <= t <= end)


async def _until(condition: Callable[[], bool], limit: float, what: str) -> None:
    """Poll every 2 ms: the moment a condition starts to hold is what the probe measures."""
    await wait_until(condition, limit, what, interval=0.002)


def _publisher(url: str, per_second: int, seconds: float) -> subprocess.Popen[bytes]:
    """Start :mod:`.publisher` (it does not wait for it)."""
    command = [sys.executable, "-m", f"{__package__}.publisher", url, str(per_second), str(seconds)]
    return subprocess.Popen(command, stdout=subprocess.PIPE)


async def _phase(
    url: str, per_second: int, seconds: float, window: Any, probe: dict[str, Any]
) -> dict[str, Any]:
    lag, frames, flushes = probe["lag"], probe["frames"], probe["flushes"]
    before = probe["received"][0]
    publisher = _publisher(url, per_second, seconds)
    try:
        await _until(lambda: publisher.poll() is not None, seconds + 30, "the publisher ended")
    finally:
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()
    assert publisher.stdout is not None
    report = json.loads(publisher.stdout.read().decode().strip().splitlines()[-1])
    start, end = report["started"], report["ended"]
    received_in_time = probe["received"][0] - before
    ended = time.monotonic()
    try:
        await _until(
            lambda: probe["received"][0] - before >= report["published"],
            DRAIN_LIMIT,
            "the panel received every update",
        )
        drain = time.monotonic() - ended
    except TimeoutError:
        drain = float("nan")
    lateness = [late for t, late in lag.samples if start <= t <= end]
    took = end - start
    return {
        "rate": per_second,
        "published_per_s": rate(report["published"], took),
        "received_per_s": rate(received_in_time, took),
        "received": probe["received"][0] - before,
        "published": report["published"],
        "drain_s": drain,
        "lag_p50_ms": ms(percentile(lateness, 50)),
        "lag_p99_ms": ms(percentile(lateness, 99)),
        "lag_max_ms": ms(max(lateness, default=float("nan"))),
        "frames_per_s": rate(_within(frames.times, start, end), took),
        "flushes_per_s": rate(_within(flushes, start, end), took),
        "rows": window.tasks.rowCount(),
        "rss_mb": rss_mb(),
    }


async def probe(url: str, tasks: int, seconds: float, rates: list[int]) -> dict[str, Any]:
    from distritask_gui.bridge import Bridge
    from distritask_gui.window import MainWindow

    base_rss = rss_mb()
    bridge = Bridge(url)
    window = MainWindow(bridge)
    frames = FrameCounter()
    window.installEventFilter(frames)
    flushes: list[float] = []
    window.tasks.flushed.connect(lambda: flushes.append(time.time()))
    received = [0]

    def count(updates: list[Any]) -> None:
        received[0] += len(updates)

    bridge.connection.updates_received.connect(count)
    window.show()
    await asyncio.sleep(0.2)
    empty_rss = rss_mb()
    started = time.perf_counter()
    bridge.start()
    try:
        await _until(
            lambda: sum(window.tasks.totals().values()) >= tasks, LOAD_LIMIT, "the board loaded"
        )
        loaded = time.perf_counter() - started
        held = window.tasks.rowCount()
        drawn = len(frames.times)
        await _until(lambda: len(frames.times) > drawn, 10, "a frame drawn after the load")
        shown = time.perf_counter() - started
        gc.collect()
        await asyncio.sleep(0.5)
        loaded_rss = rss_mb()
        lag = LagMeter()
        probe_state = {"lag": lag, "frames": frames, "flushes": flushes, "received": received}
        phases = [await _phase(url, r, seconds, window, probe_state) for r in rates]
        lag.stop()
    finally:
        await bridge.stop()
        window.hide()
    return {
        "tasks": tasks,
        "snapshot_model_s": loaded,
        "snapshot_shown_s": shown,
        "held": held,
        "rss_mb_start": base_rss,
        "rss_mb_window": empty_rss,
        "rss_mb_loaded": loaded_rss,
        "phases": phases,
    }


class _Emitter(QObject):
    ping = Signal()


def emit_leaks_a_reference() -> bool:
    """Whether ``Signal.emit`` drops a reference to ``True`` it does not own (PySide6
    6.12.0): on Python 3.11 the process then aborts after a few hundred emits."""
    emitter = _Emitter()
    emitter.ping.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(10):
        emitter.ping.emit()
    return sys.getrefcount(True) < before


def main(argv: list[str]) -> int:
    import qasync

    from distritask_gui.app import make_app

    QStandardPaths.setTestModeEnabled(True)
    url, tasks, seconds = argv[0], int(argv[1]), float(argv[2])
    rates = [int(r) for r in argv[3:]]
    app = make_app()
    if emit_leaks_a_reference():
        import PySide6

        print(
            f"PySide6 {PySide6.__version__}: Signal.emit() drops a reference to True it does "
            "not own, so the panel aborts (bool_dealloc) after a few hundred updates on this "
            "Python; install another PySide6 version (6.11.3 is fine)",
            file=sys.stderr,
        )
        return 3
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result = loop.run_until_complete(probe(url, tasks, seconds, rates))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
