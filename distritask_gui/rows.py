"""Runs of adjacent rows: one model signal per run instead of one per row."""

from __future__ import annotations

from collections.abc import Iterable


def runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """``(first, last)`` of each run of adjacent rows in ``rows`` (ascending)."""
    found: list[tuple[int, int]] = []
    start = previous = None
    for row in rows:
        if previous is not None and row == previous + 1:
            previous = row
            continue
        if start is not None and previous is not None:
            found.append((start, previous))
        start = previous = row
    if start is not None and previous is not None:
        found.append((start, previous))
    return found
