"""Riding out a broker outage: the one loop helper every long-running part uses.

:func:`keep_running` runs a loop body over and over. When the body fails because the
broker is away (:func:`backend.connection.is_broker_down`, the one definition), the
shared :class:`Outage` logs it once (however many loops share it: one warning when
it starts, one line when it ends), waits a backoff (redis-py's
``ExponentialWithJitterBackoff``) and the body runs again. Any other exception is a
bug: it is logged with its traceback and propagates to whoever awaits the loop; it
is never retried.

redis-py's own ``Retry.call_with_retry`` is not used for the endless loops: with
unlimited retries its backoff overflows (``2 ** failures``) after about a thousand
failures, a quarter of an hour of outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.backoff import ExponentialWithJitterBackoff

from backend.causes import reason
from backend.connection import is_broker_down, misconfigured

T = TypeVar("T")

MAX_STEPS = 10
"""Failures after which the backoff stops growing."""


class Outage:
    """Shared broker health for a process: says when it goes down and comes back,
    and paces retries. ``where``: the broker's address for the log (or ``""``)."""

    def __init__(
        self,
        where: str = "",
        log: logging.Logger | None = None,
        *,
        base: float = 0.1,
        cap: float = 2.0,
    ) -> None:
        self.where = where
        self.log = log or logging.getLogger(__name__)
        self.down = False
        self.outages = 0
        """Outages so far (a loop can tell one happened since it last looked)."""
        self._failures = 0
        self._backoff = ExponentialWithJitterBackoff(cap=cap, base=base)

    def _broker(self) -> str:
        return f"broker {self.where}" if self.where else "broker"

    async def failed(self, exc: BaseException) -> None:
        """Note a failure; the first one of an outage is logged. Sleeps a backoff."""
        if not self.down:
            self.down = True
            self.outages += 1
            self.log.warning(
                "lost the %s: unreachable (%s); retrying with backoff",
                self._broker(),
                reason(exc),
            )
        self._failures += 1
        await asyncio.sleep(self._backoff.compute(min(self._failures, MAX_STEPS)))

    def ok(self) -> None:
        """Note a success; ends an outage."""
        if self.down:
            self.down = False
            self.log.warning("%s reachable again; carrying on", self._broker())
        self._failures = 0

    async def persist(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action`` until it succeeds, waiting out outages (bugs propagate)."""
        while True:
            try:
                result = await action()
            except Exception as exc:
                if not is_broker_down(exc):
                    raise
                await self.failed(exc)
                continue
            self.ok()
            return result


async def keep_running(
    body: Callable[[], Awaitable[float | None]],
    outage: Outage,
    *,
    name: str,
    until: asyncio.Event | None = None,
) -> None:
    """Run ``body`` again and again, until cancelled or ``until`` is set.

    ``body`` does one round and returns the seconds to wait before the next (``None``
    or 0: at once; the wait ends early when ``until`` is set). A round that fails
    because the broker is away is noted with ``outage`` and retried after its backoff;
    a round that succeeds ends the outage. Any other exception is logged as the
    internal error it is (naming the loop ``name``) and propagates.
    """
    while until is None or not until.is_set():
        try:
            pause = await body()
        except Exception as exc:
            if not is_broker_down(exc):
                hint = misconfigured(exc)
                if hint is not None:
                    outage.log.error("%s stopped: %s", name, hint)
                    raise
                outage.log.error("%s stopped by an internal error", name, exc_info=exc)
                raise
            await outage.failed(exc)
            continue
        outage.ok()
        if pause:
            await sleep_unless(until, pause)


async def sleep_unless(event: asyncio.Event | None, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``event`` is set meanwhile."""
    if event is None:
        await asyncio.sleep(seconds)
        return
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass
