"""Waiting on a condition with a deadline: how tests synchronise (never a bare sleep).

Both build on :func:`backend.waiting.wait_until`, the product code's helper; a missed
deadline fails the test with an ``AssertionError`` naming what was awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from backend.waiting import wait_until

T = TypeVar("T")


async def eventually(
    condition: Callable[[], Awaitable[T]] | Callable[[], T],
    within: float = 10.0,
    interval: float = 0.01,
    what: str = "condition",
) -> T:
    """Await ``condition()`` until it returns something truthy; that value. Fails the
    test after ``within`` seconds."""
    try:
        return await wait_until(condition, within, what, interval=interval)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


def eventually_sync(
    condition: Callable[[], T],
    within: float = 10.0,
    interval: float = 0.01,
    what: str = "condition",
) -> T:
    """:func:`eventually` for plain functions, from a test with no running event loop."""
    return asyncio.run(eventually(condition, within, interval, what))
