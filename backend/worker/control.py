"""Cancel requests: the ``distritask:control`` channel, heard by every worker.

A request is kept in the ``distritask:cancelled`` hash and announced on the channel.
:class:`Cancels` keeps this worker's copy of the hash: loaded once the subscription
is confirmed (at start and after every reconnection, so a request made while the
worker was away is still seen) and kept current by the channel. The intake asks it
about each task it reads, with no round trip; the channel is also how a worker hears
about a task it already holds, so it can skip it (queued) or interrupt it (running).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from backend import keys
from backend.outage import Outage, keep_running
from backend.store import Subscription, TaskStore

log = logging.getLogger("backend.worker")

RELOAD_EVERY = 60.0
"""Seconds between reloads of the stored requests (drops those handled elsewhere)."""


def cancel_target(data: bytes | str) -> str | None:
    """The task id a control message asks to cancel, or ``None`` if it asks nothing."""
    try:
        message = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    target = message.get("cancel") if isinstance(message, dict) else None
    return target if isinstance(target, str) and target else None


class Cancels:
    """The cancel requests this worker knows of, and the listener that keeps them."""

    def __init__(self, store: TaskStore, outage: Outage, on_cancel: Callable[[str], None]) -> None:
        self.store = store
        self.outage = outage
        self.on_cancel = on_cancel
        self.ids: set[str] = set()
        self._subscription: Subscription | None = None
        self._heard_meanwhile: set[str] | None = None

    def __contains__(self, task_id: str) -> bool:
        return task_id in self.ids

    def forget(self, task_id: str) -> None:
        """A handled request (the store's copy goes with the task's outcome)."""
        self.ids.discard(task_id)

    async def open(self) -> None:
        """Subscribe, then load the stored requests (retrying while the broker is away)."""
        await self.outage.persist(self._open)

    async def _open(self) -> None:
        try:
            self._subscription = await self.store.subscribe(keys.CONTROL_CHANNEL)
            # Requests announced from now on arrive on the channel; earlier ones are here.
            self.ids.update(await self.store.cancel_requests())
        except BaseException:
            await self._close()
            raise

    async def reload_loop(self, every: float = RELOAD_EVERY) -> None:
        """Replace the copy with the stored requests now and then, so requests other
        workers handled do not pile up here."""

        async def round() -> float:
            self._heard_meanwhile = set()
            try:
                stored = await self.store.cancel_requests()
            finally:
                heard, self._heard_meanwhile = self._heard_meanwhile, None
            self.ids = stored | heard
            return every

        await asyncio.sleep(every)
        await keep_running(round, self.outage, name="reloading cancel requests")

    async def _close(self) -> None:
        if self._subscription is not None:
            await self._subscription.aclose()
            self._subscription = None

    async def listen(self) -> None:
        """Note each request and call ``on_cancel(task_id)``, for ever (reconnecting)."""

        async def session() -> None:
            if self._subscription is None:
                await self._open()
            assert self._subscription is not None
            try:
                async for data in self._subscription.listen():
                    if data is not None:
                        self._heard(data)
            finally:
                await self._close()

        await keep_running(session, self.outage, name="the cancel listener")

    def _heard(self, data: bytes | str) -> None:
        target = cancel_target(data)
        if target is None:
            log.warning("ignoring a control message: %r", data[:200])
            return
        self.ids.add(target)
        if self._heard_meanwhile is not None:
            self._heard_meanwhile.add(target)
        self.on_cancel(target)
