"""The footer chart shows the recorded per-minute history for 1 h, 24 h and 7 d (issue 14.5)."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from backend.protocol import Task
from distritask_gui.footer import LIVE
from tests.conftest import Spawn
from tests.gui.conftest import Open, Run
from tests.gui.test_panel import QUICK_WORKER, _submit


def test_a_range_shows_the_tasks_the_workers_recorded_then_live_again(
    redis_url: str, open_panel: Open, spawn: Spawn, qtbot: QtBot, run_async: Run[Any]
) -> None:
    window = open_panel(redis_url)
    footer, chart = window.footer, window.footer.chart
    assert chart.peak_text() == "peak 0/s"  # idle: not the axis's 1
    spawn("worker", "--name", "w-history", *QUICK_WORKER)
    ids = _submit(redis_url, run_async, *(Task(name="noop") for _ in range(7)))
    qtbot.waitUntil(lambda: window.tasks.totals().get("completed", 0) >= len(ids), timeout=15_000)

    footer.range_box.setCurrentIndex(footer.range_box.findData("1h"))
    qtbot.waitUntil(lambda: not chart.showing_live and chart.values[-1] >= len(ids), timeout=10_000)
    assert len(chart.values) == 60 and chart.span == "-1 h" and chart.unit == " per min"
    assert chart.peak_text() == f"peak {max(chart.values):g} per min"
    chart.hovered = len(chart.values) - 1
    assert chart.hover_text().startswith(f"{len(ids)} per min · ")

    footer.range_box.setCurrentIndex(footer.range_box.findData("7d"))
    qtbot.waitUntil(lambda: chart.span == "-7 d" and chart.values[-1] >= len(ids), timeout=10_000)
    assert chart.unit == " per hour"

    footer.range_box.setCurrentIndex(footer.range_box.findData(LIVE))
    assert chart.showing_live and chart.unit == "/s"
