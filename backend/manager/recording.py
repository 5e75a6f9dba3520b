"""What the manager does with ``task_updates``: it records what no writer of ours did.

The manager keeps no state per task: ``/stats`` and ``/tasks`` read the indexes the
write scripts keep (:mod:`backend.store.board`, :mod:`backend.store.query`) on every
request, so it starts at once and holds the same memory at any retention. It still
follows the channel, for what only the channel tells (:mod:`backend.recorder`):

- an update with no ``(attempt, seq)`` (a Go service's) goes to the recorder;
- an update of ours for a task with no retained state (one published by hand, say)
  too, so ``/tasks`` lists what ``/stats`` counts. Whether a task has a state is asked
  of the task index for a whole batch of updates at once (:class:`Unknowns`: one
  ``ZMSCORE`` per batch, however many updates arrived meanwhile), never per update.

:func:`follow` survives the broker going away (:func:`backend.live.follow`).
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from backend import connection, live
from backend.errors import ProtocolError
from backend.protocol import StatusUpdate, TaskStatus, decode_update
from backend.recorder import Recorder, unordered
from backend.store import TaskStore

log = logging.getLogger(__name__)

CHECK_BACKLOG = 10_000
"""Updates waiting for their check against the task index, at most."""


class Unknowns:
    """Checks updates against the task index, a batch at a time, while :meth:`run`
    runs; those of tasks with no retained state go to the recorder."""

    def __init__(self, store: TaskStore, recorder: Recorder, backlog: int = CHECK_BACKLOG) -> None:
        self.store = store
        self.recorder = recorder
        self.backlog = backlog
        self._waiting: list[StatusUpdate] = []
        self._arrived = asyncio.Event()
        self._full_logged = self._down_logged = False

    def offer(self, update: StatusUpdate) -> None:
        if len(self._waiting) >= self.backlog:
            if not self._full_logged:
                log.warning("%d updates wait for a check: dropping new ones", len(self._waiting))
                self._full_logged = True
            return
        self._waiting.append(update)
        self._arrived.set()

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            batch, self._waiting = self._waiting, []
            self._full_logged = False
            try:
                known = await self.store.known([update.id for update in batch])
            except Exception as exc:
                if not connection.is_broker_down(exc):
                    raise  # a bug: reported by whoever runs the check
                if not self._down_logged:
                    log.warning("cannot check updates: broker unavailable (%s)", exc)
                    self._down_logged = True
                continue
            self._down_logged = False
            for update, stored in zip(batch, known, strict=True):
                if not stored:
                    self.recorder.offer(update, unknown=True)


async def follow(
    listener: aioredis.Redis, store: TaskStore, following: asyncio.Event | None = None
) -> None:
    """Follow ``task_updates`` until cancelled, recording what needs it (see the
    module docstring); ``following`` is set once subscribed (each time again)."""
    recorder = Recorder(store)
    unknowns = Unknowns(store, recorder)

    def on_message(raw: bytes) -> None:
        try:
            update = decode_update(raw)
        except ProtocolError as exc:
            log.warning("ignoring a status update: %s", exc)
            return
        if unordered(update):
            recorder.offer(update)
        elif update.status is not TaskStatus.PENDING:  # a pending one is being queued
            unknowns.offer(update)

    async def on_sync(_after_outage: bool) -> None:
        await store.ensure_group()
        if following is not None:
            following.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(recorder.run(), name="recorder")
        group.create_task(unknowns.run(), name="unknowns")
        await live.follow(listener, on_message, on_sync, log)
