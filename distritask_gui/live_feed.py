"""The live half of the panel's connection: status updates and deletion notices as they come.

:class:`LiveFeed` reads a session's two confirmed subscriptions (``task_updates`` and
``distritask:forgotten``) and hands on what arrives: every update already received in
one batch (one call, not one per update), the ids of each
:class:`~backend.protocol.Forgotten` notice as they come. Updates that do not parse are
logged and skipped; a Go service's update is offered to the session's
:class:`~backend.recorder.Recorder`, so someone alive stores it.

While the board is read the feed holds what arrives (:meth:`LiveFeed.hold`) and hands it
on after it (:meth:`LiveFeed.release`), so a snapshot and the updates heard while it was
read overlap instead of leaving a gap. A subscription that redis-py re-made by itself
raises :class:`Resubscribed`: updates may have been missed, so the session starts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from backend.errors import ProtocolError
from backend.protocol import StatusUpdate, decode_forgotten, decode_update
from backend.recorder import Recorder
from backend.store import Subscription

log = logging.getLogger(__name__)

READ_BATCH = 5000
"""Most updates read from the subscription before they are handed on together."""


class Resubscribed(ConnectionError):
    """The pub/sub connection came back by itself: updates may have been missed."""


class LiveFeed:
    """Hands on a connection's live updates (``updates``) and deleted ids (``forgotten``)."""

    def __init__(
        self,
        updates: Callable[[list[StatusUpdate]], object],
        forgotten: Callable[[list[str]], object],
    ) -> None:
        self._updates = updates
        self._forgotten = forgotten
        self.recorder: Recorder | None = None
        """Records what only the channel tells (Go tasks), while a session runs."""
        self._held: list[StatusUpdate] | None = None
        """Updates heard while the board is read (handed on after it)."""
        self._held_ids: list[str] | None = None
        """Deleted ids heard while the board is read (handed on after it)."""
        self.deletions = False
        """Tasks were deleted since this was last cleared (the board has gaps)."""

    def hold(self, *, updates: bool = True) -> None:
        """Hold the deleted ids (and the updates, unless told not to) that arrive until
        :meth:`release`."""
        self._held_ids = []
        if updates:
            self._held = []

    def release(self) -> None:
        """Hand on what was held, the updates first; from now on, hand on as it comes."""
        held, self._held = self._held, None
        if held:
            self._updates(held)
        gone, self._held_ids = self._held_ids, None
        if gone:
            self._forgotten(gone)

    def end(self) -> None:
        """The session is over: nothing is held or recorded any more."""
        self.recorder = None
        self._held = self._held_ids = None

    async def read(self, subscription: Subscription) -> None:
        """Hand on the status updates received, in batches; raises when the stream ends."""
        # A read returns without yielding to the loop while messages are already
        # received, so the hand-off queued with the first one runs once they are all
        # read: one signal per batch, not one per update.
        loop = asyncio.get_running_loop()
        received: list[bytes] = []
        async for batch in subscription.batches():
            if batch is None:
                raise Resubscribed("the subscription was re-made")
            if not received:
                loop.call_soon(self._hand_on, received)
            received.extend(batch)
            if len(received) >= READ_BATCH:
                await asyncio.sleep(0)
        raise ConnectionError("the update stream ended")

    def _hand_on(self, received: list[bytes]) -> None:
        """Decode and hand on (or hold, while the board is read) what was received."""
        updates = []
        for raw in received:
            try:
                updates.append(decode_update(raw))
            except ProtocolError as exc:
                log.warning("ignoring a status update: %s", exc)
        received.clear()
        if not updates:
            return
        recorder = self.recorder
        if recorder is not None:  # a Go service's update is stored by someone alive
            for update in updates:
                recorder.offer(update)
        if self._held is not None:
            self._held.extend(updates)
        else:
            self._updates(updates)

    async def read_forgotten(self, notices: Subscription) -> None:
        """Hand on (or hold, while the board is read) the ids of each deletion notice;
        raises when the notices end."""
        async for data in notices.listen():
            if data is None:
                raise Resubscribed("the subscription to deletions was re-made")
            try:
                ids = decode_forgotten(data).ids
            except ProtocolError as exc:
                log.warning("ignoring a deletion notice: %s", exc)
                continue
            self.deletions = True
            if self._held_ids is not None:
                self._held_ids.extend(ids)
            else:
                self._forgotten(ids)
        raise ConnectionError("the deletion notices ended")
