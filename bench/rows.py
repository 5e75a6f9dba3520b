"""Each part's results as table rows, with the targets of issue 6."""

from __future__ import annotations

import math
from typing import Any

from .client import ClientResult
from .end_to_end import EndToEnd
from .raw import CONSUMERS, RawResult
from .report import Row, at_least, at_most

TARGET_TASKS = 15_000
"""Tasks per second end to end with two worker processes."""
TARGET_P50_MS, TARGET_P99_MS = 1.0, 3.0
TARGET_LAG_MS = 50.0
"""Event-loop lag p99 at 20k updates per second."""
TARGET_RSS_MB = 400.0
TARGET_SNAPSHOT_S = 2.0
TARGET_SUBMIT_MANY = 0.40
"""``submit_many``'s rate over the pipelined XADD rate of the same run (issue 12)."""
TARGET_RESULT_P50_MS, TARGET_RESULT_P99_MS = 1.0, 3.0
FULL_SNAPSHOT = 1_000_000
"""The targets for memory and snapshot time are for this many tasks."""


def _ratio(value: float, limit: float) -> float:
    return value / limit if limit > 0 else math.nan


def raw_rows(result: RawResult) -> list[Row]:
    return [
        Row("raw", "XADD, pipelined", result.xadd_per_s, "/s"),
        Row(
            "raw",
            f"XREADGROUP+XACK+PUBLISH, {CONSUMERS} procs (the limit)",
            result.consume_per_s,
            "/s",
            1.0,
        ),
        Row("raw", "XADD -> PUBLISH received, p50", result.latency_p50_ms, "ms"),
        Row("raw", "XADD -> PUBLISH received, p99", result.latency_p99_ms, "ms"),
    ]


def e2e_rows(results: list[EndToEnd], limit: float) -> list[Row]:
    rows: list[Row] = []
    for result in results:
        k = result.processes
        rows.append(
            Row(
                "e2e",
                f"submit (before the {k}-proc run)",
                result.submit_per_s,
                "/s",
                _ratio(result.submit_per_s, limit),
            )
        )
        rows.append(Row("e2e", "submit server time per 1,000 tasks", result.submit_server_ms, "ms"))
        throughput = Row(
            "e2e",
            f"throughput, {k} worker procs",
            result.tasks_per_s,
            "/s",
            _ratio(result.tasks_per_s, limit),
        )
        p50 = Row("e2e", f"latency p50, {k} worker procs", result.latency_p50_ms, "ms")
        p99 = Row("e2e", f"latency p99, {k} worker procs", result.latency_p99_ms, "ms")
        if k == 2:
            at_least(throughput, TARGET_TASKS)
            at_most(p50, TARGET_P50_MS)
            at_most(p99, TARGET_P99_MS)
        rows += [throughput, p50, p99]
    return rows


def panel_rows(result: dict[str, Any]) -> list[Row]:
    tasks = int(result["tasks"])
    full = tasks >= FULL_SNAPSHOT
    snapshot = Row(
        "panel",
        f"opened on {tasks:,} retained: board loaded and drawn",
        result["snapshot_shown_s"],
        "s",
    )
    memory = Row("panel", f"resident memory with {tasks:,} retained", result["rss_mb_loaded"], "MB")
    if full:
        at_most(snapshot, TARGET_SNAPSHOT_S)
        at_most(memory, TARGET_RSS_MB)
    rows = [snapshot, memory]
    if "held" in result:
        rows.insert(0, Row("panel", f"write {tasks:,} states with indexes", result["write_s"], "s"))
        rows.append(Row("panel", "task states the board holds", result["held"], ""))
    if result.get("aof_rewrite_s"):
        rows.insert(
            1,
            Row(
                "panel", "append-only file rewritten before the probe", result["aof_rewrite_s"], "s"
            ),
        )
    for phase in result["phases"]:
        at = f"at {phase['rate'] / 1000:g}k/s"
        p99 = Row("panel", f"event-loop lag p99 {at}", phase["lag_p99_ms"], "ms")
        if phase["rate"] >= 20_000:
            at_most(p99, TARGET_LAG_MS)
        rows += [
            Row("panel", f"event-loop lag p50 {at}", phase["lag_p50_ms"], "ms"),
            p99,
            Row("panel", f"frames drawn {at}", phase["frames_per_s"], "frames/s"),
            Row("panel", f"updates received {at}", phase["received_per_s"], "/s"),
            Row("panel", f"backlog drained after {at}", phase["drain_s"], "s"),
        ]
    peak = max((phase["rss_mb"] for phase in result["phases"]), default=math.nan)
    rows.append(Row("panel", "resident memory at the end", peak, "MB"))
    return rows


def client_rows(result: ClientResult, xadd_per_s: float) -> list[Row]:
    ratio = _ratio(result.submit_many_per_s, xadd_per_s)
    submit = Row(
        "client", f"submit_many of {result.tasks:,}", result.submit_many_per_s, "/s", ratio
    )
    share = Row("client", "submit_many / pipelined XADD", ratio * 100, "%")
    at_least(share, TARGET_SUBMIT_MANY * 100)
    what = "submit -> result() returned (noop, idle worker)"
    p50 = Row("client", f"{what}, p50", result.result_p50_ms, "ms")
    p99 = Row("client", f"{what}, p99", result.result_p99_ms, "ms")
    at_most(p50, TARGET_RESULT_P50_MS)
    at_most(p99, TARGET_RESULT_P99_MS)
    rows = [submit, share, p50, p99]
    for who, spent in result.cpu_us.items():
        rows.append(Row("client", f"{what}: the {who}'s CPU per round trip", spent, "µs"))
    if not math.isnan(result.uvloop_p50_ms):
        on = f"{what}, the client on uvloop"
        rows += [
            Row("client", f"{on}, p50", result.uvloop_p50_ms, "ms"),
            Row("client", f"{on}, p99", result.uvloop_p99_ms, "ms"),
        ]
    return rows
