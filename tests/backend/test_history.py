"""``/stats``' last-minute figures come from the per-minute counts the scripts keep."""

from __future__ import annotations

from backend import history


def test_recent_sums_this_minute_and_the_previous_whole() -> None:
    now = 1_000 * 60 + 15.0  # 15 s into minute 1000
    minutes = {
        998: {"completed": 50},  # before the window: left out
        999: {"completed": 3, "failed": 1, "l:3": 4, "lms": 160},
        1000: {"completed": 3, "cancelled": 2, "l:5": 2, "l:7": 1, "lms": 1400},
    }
    figures = history.recent(now, minutes)
    assert figures["window"] == 75.0
    assert (figures["completed"], figures["failed"], figures["cancelled"]) == (6, 1, 2)
    assert figures["throughput"] == round(6 / 75, 3)
    latency = figures["latency"]
    assert latency["mean"] == round(1.56 / 7, 4)
    # 4 in (0.025, 0.05], 2 in (0.1, 0.25], 1 in (0.5, 1.0]: the slowest is at most 1 s
    assert 0.025 <= latency["p50"] <= 0.05 and 0.5 <= latency["p95"] <= 1.0
    assert latency["max"] == 1.0


def test_recent_with_nothing_finished_has_no_latency() -> None:
    figures = history.recent(60.0 * 5, {})
    assert figures["window"] == 60.0 and figures["completed"] == 0
    assert figures["throughput"] == 0.0
    assert figures["latency"] == {"mean": None, "p50": None, "p95": None, "max": None}
