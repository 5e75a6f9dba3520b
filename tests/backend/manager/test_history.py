"""``GET /stats/history``: the per-minute counts a real worker's batches write."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import redis

from backend import history, keys
from tests.conftest import Spawn
from tests.waiting import eventually_sync


def totals(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The counts of every point summed (a test may straddle a minute)."""
    sums: dict[str, Any] = {what: sum(p.get(what, 0) for p in points) for what in history.COUNTS}
    for group in ("names", "queues"):
        merged: dict[str, dict[str, int]] = {}
        for p in points:
            for subject, counts in p.get(group, {}).items():
                for what, n in counts.items():
                    merged.setdefault(subject, {})[what] = merged.get(subject, {}).get(what, 0) + n
        sums[group] = merged
    sums["latency"] = sum(p["latency"]["count"] for p in points if "latency" in p)
    return sums


def test_history_shows_a_workers_tasks_with_latency_percentiles(
    manager: str, spawn: Spawn, sync_redis: redis.Redis
) -> None:
    spawn("worker", "--concurrency", "4", env={"DISTRITASK_RETRY_BACKOFF": "0.1"})
    assert httpx.post(manager + "/submit", json={"name": "noop", "count": 5}).status_code == 200
    sleep = {"name": "sleep", "payload": {"seconds": 0.3}}
    assert httpx.post(manager + "/submit", json=sleep).status_code == 200
    failing = {"name": "fail", "max_retries": 1}
    assert httpx.post(manager + "/submit", json=failing).status_code == 200

    def counted() -> dict[str, Any] | None:
        answer = httpx.get(manager + "/stats/history", params={"range": "1h"})
        assert answer.status_code == 200
        body = answer.json()
        sums = totals(body["points"])
        return body if sums["completed"] == 6 and sums["failed"] == 1 else None

    body = eventually_sync(counted, within=30, what="the tasks in the history")
    points = body["points"]
    assert body["step"] == 60 and len(points) == 60
    now = time.time()
    assert points[-1]["t"] <= now < points[-1]["t"] + 60  # the last point is this minute
    sums = totals(points)
    assert (sums["submitted"], sums["completed"], sums["failed"], sums["retried"]) == (7, 6, 1, 1)
    assert sums["names"]["noop"] == {"submitted": 5, "completed": 5}
    assert sums["names"]["fail"] == {"submitted": 1, "retried": 1, "failed": 1}
    assert sums["queues"]["default"]["completed"] == 6
    assert sums["latency"] == 7
    latency = max((p["latency"] for p in points if "latency" in p), key=lambda x: x["count"])
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"]
    assert latency["p99"] >= 0.25  # the sleep task took at least 0.3 s from its submission
    # kept 7 days, no longer
    minute_keys = list(sync_redis.scan_iter(match=keys.MINUTE_PREFIX + "*"))
    assert minute_keys
    assert all(0 < sync_redis.ttl(k) <= history.MINUTE_KEEP for k in minute_keys)


@pytest.mark.parametrize(("name", "points", "step"), [("24h", 288, 300), ("7d", 168, 3600)])
def test_longer_ranges_have_coarser_points(manager: str, name: str, points: int, step: int) -> None:
    httpx.post(manager + "/submit", json={"name": "noop", "count": 2})
    body = httpx.get(manager + "/stats/history", params={"range": name}).json()
    assert body["step"] == step
    assert len(body["points"]) in (points, points + 1)  # the first may start a step early
    assert sum(p["submitted"] for p in body["points"]) == 2
    assert all(p["t"] % step == 0 for p in body["points"])


def test_an_unknown_range_is_a_422(manager: str) -> None:
    answer = httpx.get(manager + "/stats/history", params={"range": "2h"})
    assert answer.status_code == 422
    assert "range" in answer.json()["error"]


def test_percentiles_interpolate_inside_buckets() -> None:
    one_second = history.latency_bucket(1.0)
    assert history.percentile({one_second: 10}, 0.5) == pytest.approx(0.75)
    assert history.percentile({}, 0.5) == 0.0
    assert history.percentile({len(history.LATENCY_BOUNDS): 1}, 0.99) == 3600.0
