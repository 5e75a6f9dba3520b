"""Batched outcomes: status changes and acknowledgements go out in one pipeline.

Everything a worker writes per task (the state, the ``task_updates`` messages, the
XACK) is queued here and flushed by one loop: when a batch of work finishes, or
about a millisecond after the first change arrived, whichever is first. A flush is
one :meth:`TaskStore.write` call (one command) carrying the updates, the states, the
acks and the handled cancel requests, so an entry is acknowledged only in the
command that records its outcome. The script counts each outcome once, and stores
a state only if no newer one is stored (a late write after an outage never undoes
another worker's later attempt). While
the broker is away the batch is kept and written again; nothing is dropped. Progress
superseded within one batch is not published (see :func:`coalesce`).
"""

from __future__ import annotations

import asyncio
import logging

from backend.protocol import TaskStatus
from backend.store import TaskStore
from backend.worker.outage import Outage
from backend.worker.running import Change, Running

log = logging.getLogger(__name__)

FLUSH_DELAY = 0.001
"""Seconds a change waits for company before it is written."""


class Outbox:
    """Status changes and acks waiting to be written together."""

    def __init__(self, store: TaskStore, outage: Outage, *, delay: float = FLUSH_DELAY) -> None:
        self.store = store
        self.outage = outage
        self.delay = delay
        self._changes: list[tuple[Running, Change]] = []
        self._acks: list[bytes] = []
        self._forget: list[str] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._timer: asyncio.TimerHandle | None = None
        self.unacked: set[bytes] = set()
        """Entries whose outcome is queued or being written (kept fresh by the reclaimer)."""

    def add(self, state: Running, change: Change) -> None:
        """Queue a status change."""
        self._changes.append((state, change))
        self._arm()

    def ack(self, entry_id: bytes) -> None:
        """Queue the acknowledgement of an entry whose outcome is queued before it."""
        self._acks.append(entry_id)
        self.unacked.add(entry_id)
        self._arm()

    def forget_cancel(self, task_id: str) -> None:
        """Drop a handled cancel request once the outcome is written."""
        self._forget.append(task_id)

    def flush_soon(self) -> None:
        """Write what is queued now (a batch of work has finished)."""
        if self._changes or self._acks:
            self._wake.set()

    @property
    def empty(self) -> bool:
        return not (self._changes or self._acks) and self._idle.is_set()

    async def drain(self) -> None:
        """Wait until everything queued so far is written."""
        while not self.empty:
            self._wake.set()
            self._idle.clear()
            await self._idle.wait()

    def _arm(self) -> None:
        self._idle.clear()
        if self._timer is None and not self._wake.is_set():
            self._timer = asyncio.get_running_loop().call_later(self.delay, self._wake.set)

    async def run(self) -> None:
        """The flush loop (runs for the worker's life)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            changes, self._changes = coalesce(self._changes), []
            acks, self._acks = self._acks, []
            forget, self._forget = self._forget, []
            await self._write(changes, acks, forget)
            self.unacked.difference_update(acks)
            if not (self._changes or self._acks):
                self._idle.set()

    async def _write(
        self, changes: list[tuple[Running, Change]], acks: list[bytes], forget: list[str]
    ) -> None:
        """One batch, written however long the broker is away."""
        updates: list[bytes] = []
        latest: dict[str, Running] = {}
        for state, change in changes:
            updates.append(change.json())
            latest[change.task_id] = state
        states = {task_id: state.json() for task_id, state in latest.items()}
        await self.outage.persist(
            lambda: self.store.write(updates, states, {}, ack=acks, forget_cancels=forget)
        )


def coalesce(changes: list[tuple[Running, Change]]) -> list[tuple[Running, Change]]:
    """Drop ``processing`` updates that a later update of the same task in the same
    batch supersedes (a task that started and ended within a millisecond).

    Viewers would apply both within the same instant; the state keeps the full
    history either way.
    """
    if len(changes) < 2:
        return changes
    last = {change.task_id: index for index, (_, change) in enumerate(changes)}
    return [
        pair
        for index, pair in enumerate(changes)
        if pair[1].status is not TaskStatus.PROCESSING or last[pair[1].task_id] == index
    ]
