"""Waiting until a condition holds, with a deadline: the one polling helper.

Product code (the panel's self-test, the bench) and the tests (``tests/waiting.py``)
wait with :func:`wait_until`, never with a bare sleep as synchronisation.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def wait_until(
    condition: Callable[[], Awaitable[T]], within: float, what: str, *, interval: float = ...
) -> T: ...
@overload
async def wait_until(
    condition: Callable[[], T], within: float, what: str, *, interval: float = ...
) -> T: ...
async def wait_until(
    condition: Callable[[], Any], within: float, what: str, *, interval: float = 0.05
) -> Any:
    """Call ``condition()`` (a plain or an async function) until it returns something
    truthy, and return that; ``TimeoutError`` naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within:g} s")
        await asyncio.sleep(interval)
