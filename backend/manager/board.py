"""The manager's live view of every retained task: what ``/stats`` and ``/tasks``
filters read, so neither scans Redis per request.

A :class:`Board` holds a few fields per task (status, order, worker, name, creation
time) and a rolling window of the tasks that finished in the last minute. It is
filled from a snapshot and kept current by the ``task_updates`` channel; updates are
applied by the one rule of :mod:`backend.transition` (``(attempt, seq)``, then status
rank; a Go update joins the current attempt), so the order in which snapshot and live
updates meet does not matter. :func:`follow` does the feeding and
survives the broker restarting (it reloads the snapshot when it reconnects).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from backend import live, transition
from backend.errors import ProtocolError
from backend.protocol import StatusUpdate, TaskStatus, decode_update
from backend.recorder import Recorder
from backend.state import TaskState
from backend.store import TaskStore

log = logging.getLogger(__name__)

WINDOW = 60.0
"""Seconds of finished tasks the throughput and latency figures cover."""
WINDOW_CAP = 50_000
"""Finished tasks the window keeps at most (past it, it covers less than a minute)."""


@dataclass(slots=True)
class Entry:
    status: TaskStatus
    order: tuple[int, int]
    created: float
    worker: str
    name: str


class Board:
    """Every retained task's status, and the tasks finished in the last minute."""

    def __init__(self, retention: int = 100_000) -> None:
        self.retention = retention
        self.entries: dict[str, Entry] = {}
        self.counts: Counter[TaskStatus] = Counter()
        self.finished: deque[tuple[float, TaskStatus, float]] = deque(maxlen=WINDOW_CAP)
        self.ready = False
        """Whether a full snapshot has been loaded (figures are partial before)."""

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()
        self.ready = False

    def load(self, states: Iterable[TaskState]) -> None:
        """Merge recorded states (a snapshot batch); newer knowledge wins."""
        for state in states:
            known = self.entries.get(state.id)
            order = state.order
            if known is not None:
                placed = transition.place(*known.order, known.status, *order, state.status)
                if placed is None:
                    continue
                order = placed
            created = state.created or state.updated or time.time()
            self._put(state.id, Entry(state.status, order, created, state.worker, state.name))
        self._bound()

    def apply(self, update: StatusUpdate) -> None:
        """Apply one live update unless it is older than what is known."""
        known = self.entries.get(update.id)
        order = update.order
        if known is not None:
            placed = transition.place(*known.order, known.status, *order, update.status)
            if placed is None:
                return
            order = placed
        now = update.ts or time.time()
        created = now if known is None else known.created
        name = update.name or (known.name if known else "")
        self._put(update.id, Entry(update.status, order, created, update.worker, name))
        if update.status.terminal and (known is None or known.status is not update.status):
            self.finished.append((now, update.status, max(0.0, now - created)))
        if known is None:
            self._bound()

    def _put(self, task_id: str, entry: Entry) -> None:
        old = self.entries.get(task_id)
        if old is not None:
            self.counts[old.status] -= 1
        self.entries[task_id] = entry
        self.counts[entry.status] += 1

    def _bound(self) -> None:
        """Forget the oldest tasks past 110 % of the retention, as the store does."""
        excess = len(self.entries) - self.retention
        if excess <= self.retention // 10:
            return
        for task_id in heapq.nsmallest(excess, self.entries, key=lambda i: self.entries[i].created):
            self.counts[self.entries.pop(task_id).status] -= 1

    # -- reading ---------------------------------------------------------------------

    def by_status(self) -> dict[str, int]:
        return {status.value: self.counts.get(status, 0) for status in TaskStatus}

    def select(
        self,
        *,
        status: TaskStatus | None = None,
        worker: str | None = None,
        name: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[str]]:
        """How many tasks match, and the ids of one page of them, newest first."""
        matches = [
            (entry.created, task_id)
            for task_id, entry in self.entries.items()
            if (status is None or entry.status is status)
            and (worker is None or entry.worker == worker)
            and (name is None or entry.name == name)
        ]
        page = heapq.nlargest(offset + limit, matches)[offset:]
        return len(matches), [task_id for _, task_id in page]

    def last_minute(self, now: float | None = None) -> dict[str, Any]:
        """Tasks finished in the last minute: counts, throughput (completed per second)
        and latency (seconds from queued to finished) of the completed ones."""
        now = time.time() if now is None else now
        while self.finished and self.finished[0][0] < now - WINDOW:
            self.finished.popleft()
        span = WINDOW
        if len(self.finished) == self.finished.maxlen:
            span = max(1.0, now - self.finished[0][0])
        done = Counter(status for _, status, _ in self.finished)
        latencies = sorted(
            latency for _, status, latency in self.finished if status is TaskStatus.COMPLETED
        )
        return {
            "window": round(span, 3),
            "completed": done[TaskStatus.COMPLETED],
            "failed": done[TaskStatus.FAILED],
            "cancelled": done[TaskStatus.CANCELLED],
            "throughput": round(done[TaskStatus.COMPLETED] / span, 3),
            "latency": _latency(latencies),
        }


def _latency(ordered: list[float]) -> dict[str, float | None]:
    if not ordered:
        return {"mean": None, "p50": None, "p95": None, "max": None}

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)

    return {
        "mean": round(sum(ordered) / len(ordered), 4),
        "p50": pick(0.5),
        "p95": pick(0.95),
        "max": round(ordered[-1], 4),
    }


async def follow(listener: aioredis.Redis, store: TaskStore, board: Board) -> None:
    """Keep ``board`` current until cancelled: subscribe, load the snapshot, apply live
    updates; when the broker goes away, say so once, retry with backoff, reload.

    Updates no writer of ours recorded (a Go service's) are recorded on the way
    (:mod:`backend.recorder`), and the board loads the state as stored: ``/tasks``
    lists what ``/stats`` counts.
    """
    recorder = Recorder(store, on_recorded=lambda state: board.load([state]))

    async def reload(_after_outage: bool) -> None:
        await store.ensure_group()
        board.clear()
        async for states in store.snapshot():
            board.load(states)
        board.ready = True

    async with asyncio.TaskGroup() as group:
        group.create_task(recorder.run(), name="recorder")
        await live.follow(listener, lambda raw: _apply(board, recorder, raw), reload, log)


def _apply(board: Board, recorder: Recorder, raw: bytes | str) -> None:
    try:
        update = decode_update(raw)
    except ProtocolError as exc:
        log.warning("ignoring a status update: %s", exc)
        return
    # A task that is not on the board and not being queued has no state of ours,
    # most likely: recording it keeps /tasks listing what /stats counts.
    unknown = update.id not in board.entries and update.status is not TaskStatus.PENDING
    board.apply(update)
    recorder.offer(update, unknown=unknown)
