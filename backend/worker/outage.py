"""Riding out a broker outage: one clear line when it starts, one when it ends.

Every loop of the worker reports its failures and successes to one :class:`Outage`,
so a restart of Redis logs one warning (not one per loop) and each loop backs off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import BusyLoadingError, ResponseError

from backend.connection import BROKER_DOWN, backoff, describe

log = logging.getLogger("backend.worker")

T = TypeVar("T")

TRANSIENT = (*BROKER_DOWN, BusyLoadingError)
"""What a lost, restarting or unreachable broker raises."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means the broker is away for now (retry), not a bug."""
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(("LOADING", "MASTERDOWN"))


class Outage:
    """Shared broker health: says when it goes down and comes back, paces retries."""

    def __init__(self, url: str) -> None:
        self.where = describe(url)
        self.down = False
        self._failures = 0

    async def failed(self, exc: BaseException) -> None:
        """Note a failure; the first one of an outage is logged. Sleeps a backoff."""
        if not self.down:
            self.down = True
            log.warning("broker %s unreachable (%s); retrying with backoff", self.where, exc)
        self._failures += 1
        await asyncio.sleep(backoff(min(self._failures, 10), base=0.1, cap=2.0))

    def ok(self) -> None:
        """Note a success; ends an outage."""
        if self.down:
            self.down = False
            log.warning("broker %s reachable again; carrying on", self.where)
        self._failures = 0

    async def persist(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action`` until it succeeds, waiting out outages."""
        while True:
            try:
                result = await action()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self.failed(exc)
                continue
            self.ok()
            return result
