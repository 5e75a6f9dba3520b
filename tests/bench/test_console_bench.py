"""The console part of the bench loads states that the query layer then finds."""

from __future__ import annotations

from bench import console


def test_console_part_loads_indexed_states_and_times_every_filter(redis_url: str) -> None:
    result = console.measure(redis_url, 3000, 2)
    assert result["states"] == 3000
    rows = console.console_rows(result)
    timed = [row for row in rows if row.unit == "ms"]
    assert len(timed) == 9 and all(row.value >= 0 for row in timed)
    assert all(row.met for row in timed if row.target)
