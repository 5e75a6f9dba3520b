"""Recording what only the channel tells: the state of tasks the Go services run.

Our submitters and workers record every state they cause. The original Go manager
and Go workers record nothing: they XADD and publish. So a follower of
``task_updates`` that is alive (the manager's board, the dashboard, the panel) hands
each update without ordering fields (``attempt`` and ``seq`` absent: a Go service's,
or one published by hand), and any it has no state for, to a :class:`Recorder`,
which stores it through
:meth:`TaskStore.record_seen <backend.store.TaskStore.record_seen>`: applied to the
stored state by the one rule, or a new state (indexed, so retention trims it), and
the worker it names noted (Go workers have no heartbeat). Late joiners then see those
tasks like any other.

Idempotent: any number of recorders may run; a state is stored only if it did not
change since it was read, and counters move once per change. Updates are recorded one
at a time in arrival order; past :data:`BACKLOG` waiting, new ones are dropped with a
warning (viewers still apply them live). While the broker is away, updates are
dropped: the channel loses them too, and the next one of the task carries it on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from backend import connection
from backend.errors import ProtocolError
from backend.protocol import StatusUpdate, decode_update
from backend.state import TaskState
from backend.store import TaskStore

log = logging.getLogger(__name__)

BACKLOG = 10_000
"""Updates waiting to be recorded, at most."""


def unordered(update: StatusUpdate) -> bool:
    """Whether no writer of ours recorded ``update`` (it carries no ``(attempt, seq)``)."""
    return not (update.attempt or update.seq)


class Recorder:
    """Records the updates it is offered, in arrival order, while :meth:`run` runs."""

    def __init__(
        self,
        store: TaskStore,
        on_recorded: Callable[[TaskState], None] | None = None,
        backlog: int = BACKLOG,
    ) -> None:
        self.store = store
        self.on_recorded = on_recorded
        """Called with each state as stored (the board loads it)."""
        self._queue: asyncio.Queue[StatusUpdate] = asyncio.Queue(backlog)
        self._full_logged = False
        self._down_logged = False

    def offer_raw(self, raw: bytes | str) -> bool:
        """:meth:`offer` for a follower that relays messages without reading them: only
        a message with no ``"attempt"`` field is decoded (ours always carry one)."""
        data = raw.encode() if isinstance(raw, str) else raw
        if b'"attempt"' in data:
            return False
        try:
            update = decode_update(data)
        except ProtocolError:
            return False
        return self.offer(update)

    def offer(self, update: StatusUpdate, *, unknown: bool = False) -> bool:
        """Queue ``update`` if it needs recording (see :func:`unordered`), or if the
        caller knows no state of its task (``unknown``: one published by hand, say);
        whether it did."""
        if not (unknown or unordered(update)):
            return False
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            if not self._full_logged:
                log.warning("recorder %d updates behind: dropping new ones", self._queue.qsize())
                self._full_logged = True
            return False
        return True

    async def drain(self) -> None:
        """Wait until every update offered so far is recorded (for tests)."""
        await self._queue.join()

    async def run(self) -> None:
        """Record until cancelled."""
        while True:
            update = await self._queue.get()
            try:
                state = await self.store.record_seen(update)
            except Exception as exc:
                if not connection.is_broker_down(exc):
                    raise  # a bug: reported by whoever runs the recorder
                if not self._down_logged:
                    log.warning("cannot record updates: broker unavailable (%s)", exc)
                    self._down_logged = True
                continue
            finally:
                self._queue.task_done()
            self._down_logged = self._full_logged = False
            if state is not None and self.on_recorded is not None:
                self.on_recorded(state)
