"""The one polling helper: returns the condition's value, or fails naming what it awaited."""

from __future__ import annotations

import itertools

import pytest

from backend.waiting import wait_until


async def test_returns_the_first_truthy_value_of_a_plain_or_async_condition() -> None:
    counter = itertools.count()
    assert await wait_until(lambda: next(counter) >= 3 and "ready", 5, "three calls") == "ready"

    calls = itertools.count()

    async def async_condition() -> int:
        return max(0, next(calls) - 1)

    assert await wait_until(async_condition, 5, "the second call", interval=0.001) == 1


async def test_times_out_naming_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"the moon: not within 0.05 s"):
        await wait_until(lambda: False, 0.05, "the moon", interval=0.01)
