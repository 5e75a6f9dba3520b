"""The manager part of the bench starts a real manager on written states and times it."""

from __future__ import annotations

from bench import manager


def test_manager_part_starts_a_manager_and_times_stats_and_filters(redis_url: str) -> None:
    result = manager.measure(redis_url, 2000, 2)
    assert result["states"] == 2000 and result["start_s"] >= result["serving_s"] > 0
    assert result["memory_mb"]["VmRSS"] > 0
    rows = manager.manager_rows(result)
    timed = [row for row in rows if row.unit == "ms"]
    assert len(timed) == 10 and all(row.value >= 0 for row in timed)
