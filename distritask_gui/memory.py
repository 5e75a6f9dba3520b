"""Keep Python's cycle collector away from the tasks the panel holds.

The panel holds up to ~100,000 task states, four collector-tracked objects each. A
full collection walks all of them (over 100 ms on a small machine), and with
thousands of new tasks a second the collector runs one every second or two: the
window would stall each time. Task states hold no reference cycles (reference
counting frees them), so after each large batch of new tasks :func:`settle` collects
what is young and then *freezes* every surviving object (``gc.freeze``): later
collections skip them, and each walks only what arrived since.

The cost: an object that is frozen and later dies inside a reference cycle is never
freed. What lives that long here is the window, its models and the task states, none
of which die in cycles; a reconnect leaves a few asyncio objects behind at most.
"""

from __future__ import annotations

import gc

SETTLE_EVERY = 10_000
"""New tasks between two :func:`settle` calls."""


def settle() -> None:
    """Collect the unfrozen objects, then freeze the survivors."""
    gc.collect()
    gc.freeze()
