"""Per-minute history: what the scripts count, and the series the manager serves.

Every script that counts an outcome in the all-time counters (submit, a worker's
batch write, a recorded Go update) also adds it to the hash of the current minute
(:func:`backend.keys.minute`, by the server's clock): ``submitted``, ``completed``,
``failed``, ``retried``, ``cancelled``, the same per queue (``q:<queue>:<what>``) and per task name
(``n:<name>:<what>``), and each finished task's latency (submission to finish) in a
fixed histogram (``l:<bucket>``: :data:`LATENCY_BOUNDS`) with its sum in ms (``lms``),
so percentiles are computed on read. A minute's hash expires after
:data:`MINUTE_KEEP` seconds; past :data:`MINUTE_FIELDS` fields the per-queue and
per-name counts of that minute go to the name :data:`OTHER` (keys stay bounded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

MINUTE_KEEP = 7 * 24 * 3600
"""Seconds a minute's counts are kept."""
MINUTE_FIELDS = 2000
"""Fields a minute's hash grows to before new queues and names are folded into OTHER."""
OTHER = "~other"
LATENCY_BOUNDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
)  # fmt: skip
"""Upper bounds (seconds) of the latency buckets; one more bucket holds the rest."""
COUNTS = ("submitted", "completed", "failed", "retried", "cancelled")
PERCENTILES = (50, 90, 95, 99)

Range = Literal["1h", "24h", "7d"]
RANGES: dict[str, tuple[int, int]] = {"1h": (60, 1), "24h": (1440, 5), "7d": (10080, 60)}
"""Range -> (minutes covered, minutes per point)."""


class Latency(BaseModel):
    """Latency (seconds from submission to finish) of the tasks finished in a point."""

    count: int
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float


class Point(BaseModel):
    """The counts of ``minutes`` minutes from ``t`` (epoch seconds)."""

    t: int
    minutes: int
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    queues: dict[str, dict[str, int]] = Field(default_factory=dict)
    names: dict[str, dict[str, int]] = Field(default_factory=dict)
    latency: Latency | None = None


class History(BaseModel):
    range: str
    step: int = Field(description="seconds per point")
    points: list[Point]


def percentile(buckets: Mapping[int, int], fraction: float) -> float:
    """The ``fraction`` quantile of a histogram (bucket index -> count), interpolated
    linearly inside its bucket (as Prometheus' histogram_quantile does); the last,
    open bucket answers its lower bound."""
    total = sum(buckets.values())
    if total == 0:
        return 0.0
    rank = fraction * total
    seen = 0
    for index in sorted(buckets):
        count = buckets[index]
        if count and seen + count >= rank:
            if index >= len(LATENCY_BOUNDS):
                return LATENCY_BOUNDS[-1]
            low = LATENCY_BOUNDS[index - 1] if index > 0 else 0.0
            return low + (LATENCY_BOUNDS[index] - low) * max(0.0, rank - seen) / count
        seen += count
    return LATENCY_BOUNDS[-1]


def point(t: int, minutes: int, hashes: list[Mapping[str, int]]) -> Point:
    """One point summing the minute hashes ``hashes`` (fields decoded, values ints)."""
    result = Point(t=t, minutes=minutes)
    total_ms = 0
    for fields in hashes:
        for field, value in fields.items():
            if field in COUNTS:
                setattr(result, field, getattr(result, field) + value)
            elif field == "lms":
                total_ms += value
            elif field[:2] in ("q:", "n:"):
                group = result.queues if field[0] == "q" else result.names
                subject, _, what = field[2:].rpartition(":")
                counts = group.setdefault(subject, {})
                counts[what] = counts.get(what, 0) + value
    buckets = latency_buckets(hashes)
    count = sum(buckets.values())
    if count:
        result.latency = Latency(
            count=count,
            mean=total_ms / 1000 / count,
            **{f"p{p}": percentile(buckets, p / 100) for p in PERCENTILES},
        )
    return result


def latency_buckets(hashes: Iterable[Mapping[str, int]]) -> dict[int, int]:
    """The latency histogram (bucket index -> count) of the minute hashes summed."""
    buckets: dict[int, int] = {}
    for fields in hashes:
        for field, value in fields.items():
            if field.startswith("l:"):
                index = int(field[2:])
                buckets[index] = buckets.get(index, 0) + value
    return buckets


def recent(now: float, minutes: Mapping[int, Mapping[str, int]]) -> dict[str, Any]:
    """``/stats``' ``last_minute`` figures at ``now`` from the minute hashes ``minutes``
    (epoch minute -> fields) of this minute and the previous one, whole: ``window`` is
    the seconds they cover (60 to 120); the completed, failed and cancelled tasks in
    it; ``throughput``, completed per second; and the completed and failed tasks'
    ``latency`` (seconds from submission to finish): mean, p50 and p95 from the
    histogram, and ``max``, the upper bound of the slowest one's bucket (all ``None``
    when none finished)."""
    first = epoch_minute(now) - 1
    hashes = [fields for minute, fields in minutes.items() if minute >= first]
    window = max(60.0, now - first * 60)
    summed = point(first * 60, 2, hashes)
    latency: dict[str, float | None] = dict.fromkeys(("mean", "p50", "p95", "max"))
    if summed.latency is not None:
        latency = {
            "mean": round(summed.latency.mean, 4),
            "p50": round(summed.latency.p50, 4),
            "p95": round(summed.latency.p95, 4),
            "max": round(percentile(latency_buckets(hashes), 1.0), 4),
        }
    return {
        "window": round(window, 3),
        "completed": summed.completed,
        "failed": summed.failed,
        "cancelled": summed.cancelled,
        "throughput": round(summed.completed / window, 3),
        "latency": latency,
    }


def series(name: str, minutes: Mapping[int, Mapping[str, int]], last_minute: int) -> History:
    """The points of range ``name`` ending with the minute ``last_minute`` (included),
    from the minute hashes ``minutes`` (epoch minute -> fields); empty minutes count 0."""
    span, step = RANGES[name]
    first = last_minute - span + 1
    first -= first % step  # points start on whole steps (5 min, hours)
    points = []
    for start in range(first, last_minute + 1, step):
        found = [minutes[m] for m in range(start, start + step) if m in minutes]
        points.append(point(start * 60, step, found))
    return History(range=name, step=step * 60, points=points)


def latency_bucket(seconds: float) -> int:
    """The bucket a latency falls in (as the scripts file it)."""
    for index, bound in enumerate(LATENCY_BOUNDS):
        if seconds <= bound:
            return index
    return len(LATENCY_BOUNDS)


def epoch_minute(epoch: float) -> int:
    return math.floor(epoch / 60)
