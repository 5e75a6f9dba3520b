"""Control messages: the ``distritask:control`` channel, heard by every worker.

It carries :class:`~backend.protocol.ControlMessage`: cancel requests (for a task)
and the orders addressed to one worker by name, ``drain`` and ``stop``, which
:class:`Cancels` passes to ``on_order``. A message that does not parse is logged
and ignored; orders for other workers are ignored.

A request is kept in the ``distritask:cancelled`` hash and announced on the channel.
:class:`Cancels` keeps this worker's copy of the hash: loaded once the subscription
is confirmed (at start and after every reconnection, so a request made while the
worker was away is still seen) and kept current by the channel. The intake asks it
about each task it reads, with no round trip; the channel is also how a worker hears
about a task it already holds, so it can skip it (queued) or interrupt it (running).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from backend import keys
from backend.errors import ProtocolError
from backend.outage import Outage, keep_running
from backend.protocol import ControlMessage, decode_control
from backend.store import Subscription, TaskStore

log = logging.getLogger("backend.worker")

RELOAD_EVERY = 60.0
"""Seconds between reloads of the stored requests (drops those handled elsewhere)."""


def parse(data: bytes | str) -> ControlMessage | None:
    """The control message in ``data``, or ``None`` (logged) if it is not one."""
    try:
        return decode_control(data)
    except ProtocolError as exc:
        log.warning("ignoring a control message (%s): %r", exc, data[:200])
        return None


class Cancels:
    """The cancel requests this worker knows of, and the listener that keeps them."""

    def __init__(
        self,
        store: TaskStore,
        outage: Outage,
        on_cancel: Callable[[str], None],
        *,
        worker: str = "",
        on_order: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.outage = outage
        self.on_cancel = on_cancel
        self.worker = worker
        """This worker's name: the orders (drain, stop) addressed to it go to ``on_order``."""
        self.on_order = on_order
        self._taken: asyncio.Future[str | None] | None = None
        """Removing the kept copy of an order heard (so a successor is not ordered too)."""
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
            if self.worker and self.on_order is not None:
                order = await self.store.take_worker_order(self.worker)
                if order is not None:  # sent while this worker was not listening
                    self.on_order(order)
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
        message = parse(data)
        if message is None:
            return
        order, target = message.order
        if order != "cancel":
            if target == self.worker and self.on_order is not None:
                self._taken = asyncio.ensure_future(self.store.take_worker_order(target))
                self._taken.add_done_callback(_quietly)
                self.on_order(order)
            return
        self.ids.add(target)
        if self._heard_meanwhile is not None:
            self._heard_meanwhile.add(target)
        self.on_cancel(target)


def _quietly(done: asyncio.Future[str | None]) -> None:
    """Removing a kept order is best effort (it expires anyway)."""
    if not done.cancelled() and done.exception() is not None:
        log.debug("could not remove a kept order: %s", done.exception())
