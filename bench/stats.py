"""Small statistics the bench reports: percentiles, rates and CPU time."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, nearest rank; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def rate(count: int, seconds: float) -> float:
    """``count`` per second over ``seconds`` (NaN when no time passed)."""
    return count / seconds if seconds > 0 else math.nan


def ms(seconds: float) -> float:
    return seconds * 1000.0


def server_cpu(info: Mapping[str, Any]) -> float:
    """A server's CPU seconds so far (user + system), from its ``INFO cpu`` section."""
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
