"""What the live board shows, read from the indexes: a bounded set of states and counts.

The board never reads every retained state (a million of them would take seconds and
gigabytes). :meth:`BoardReads.board` reads, from the sorted sets the write scripts
keep (:data:`backend.keys.INDEX_PREFIX`, scored by creation time):

- the oldest ``shown`` waiting tasks (pending, then retrying): the Queue column's top;
- the newest ``busy`` running tasks (every one, unless thousands run at once);
- the newest ``shown`` tasks of each worker found in the indexes (its column's top;
  not those of the manager's, which are the waiting ones);

and the counts: tasks by status and by worker (``ZCARD``s, constant time each), and
each worker's failed and cancelled tasks, so the board's totals, its columns' figures
and "+K more" are right without holding what they count.
:meth:`BoardReads.board_counts` is the same without the worker columns' states,
cheap enough for the panel's every-second poll (the Queue column refills from it as
its oldest tasks start). Both cost a few commands in one pipeline, then one
``HMGET`` of the states picked. :meth:`BoardReads.status_counts` is only the counts
by status and in all (the manager's ``/stats``): one pipeline of ``ZCARD``s. Each
first settles the upkeep left for later (:mod:`backend.store.backlog`), so what it
counts includes the tasks just submitted or finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from backend.protocol import TaskStatus
from backend.state import TaskState, decode_state
from backend.store.base import decoded, text
from backend.store.queue import SUBMIT_SOURCE
from backend.store.states import States

BOARD_SHOWN = 50
"""Cards of each column a board reads (the newest of a worker's, the queue's oldest)."""
BOARD_BUSY = 2000
"""Running tasks a board reads at most (the newest; the rest are counted)."""
_WAITING = (TaskStatus.PENDING, TaskStatus.RETRYING)
_NOT_WORKERS = ("", SUBMIT_SOURCE)
_ENDED = (TaskStatus.FAILED, TaskStatus.CANCELLED)


@dataclass
class BoardCounts:
    """Retained tasks by status and by worker (the worker index: every task a worker
    ran, whatever its status now; tasks no worker ran are in no worker's count)."""

    statuses: dict[TaskStatus, int] = field(default_factory=dict)
    workers: dict[str, int] = field(default_factory=dict)
    ended: dict[str, dict[TaskStatus, int]] = field(default_factory=dict)
    """Each worker's failed and cancelled tasks (read by :meth:`BoardReads.board` only:
    ``ZINTERCARD`` walks the smaller set, so this costs about the failed tasks)."""


@dataclass
class BoardSnapshot:
    """The states a board shows, and the counts of everything retained."""

    states: list[TaskState]
    counts: BoardCounts


class BoardReads(States):
    """The live board's bounded reads (mixed into :class:`~backend.store.TaskStore`)."""

    async def board(
        self,
        *,
        shown: int = BOARD_SHOWN,
        busy: int = BOARD_BUSY,
        decode: Callable[[bytes], TaskState] = decode_state,
    ) -> BoardSnapshot:
        """The states a board shows and the counts (see the module docstring)."""
        return await self._board(shown, busy, decode, per_worker=True)

    async def board_counts(
        self, *, shown: int = BOARD_SHOWN, decode: Callable[[bytes], TaskState] = decode_state
    ) -> BoardSnapshot:
        """The counts, and the oldest ``shown`` waiting tasks (the Queue column's top)."""
        return await self._board(shown, 0, decode, per_worker=False)

    async def status_counts(self) -> tuple[dict[TaskStatus, int], int]:
        """Retained tasks by status, and in all: a ``ZCARD`` each, in one round trip
        (what ``/stats`` shows, at any retention)."""
        statuses = list(TaskStatus)
        await self.settle()
        async with self.redis.pipeline(transaction=False) as pipe:
            for status in statuses:
                pipe.zcard(self.keys.index("status", status.value))
            pipe.zcard(self.keys.TASK_INDEX)
            *counts, retained = await pipe.execute()
        return dict(zip(statuses, map(int, counts), strict=True)), int(retained)

    async def _board(
        self,
        shown: int,
        busy: int,
        decode: Callable[[bytes], TaskState],
        *,
        per_worker: bool,
    ) -> BoardSnapshot:
        await self.settle()
        workers = await self._indexed_workers()
        ran = [w for w in workers if w not in _NOT_WORKERS] if per_worker else []
        statuses = list(TaskStatus)
        index = self.keys.index
        async with self.redis.pipeline(transaction=False) as pipe:
            # counts first, in a known number of replies; then the id lists
            for status in statuses:
                pipe.zcard(index("status", status.value))
            for worker in workers:
                pipe.zcard(index("worker", worker))
            for worker in ran:
                for status in _ENDED:
                    pipe.zintercard(2, [index("status", status.value), index("worker", worker)])
            for status in _WAITING:
                pipe.zrange(index("status", status.value), 0, shown - 1)
            if busy > 0:
                pipe.zrange(index("status", TaskStatus.PROCESSING.value), 0, busy - 1, desc=True)
            for worker in ran:  # (the manager's tasks are the waiting ones, read above)
                pipe.zrange(index("worker", worker), 0, shown - 1, desc=True)
            replies = iter(await pipe.execute())
        counts = BoardCounts(
            {status: int(next(replies)) for status in statuses},
            {worker: int(next(replies)) for worker in workers},
            {worker: {status: int(next(replies)) for status in _ENDED} for worker in ran},
        )
        picked: dict[str, None] = {}
        for ids in replies:
            picked.update((text(i), None) for i in ids)
        states = await self._read_states(list(picked), decode)
        return BoardSnapshot(states, counts)

    async def _indexed_workers(self) -> list[str]:
        """Every worker value the worker index holds (a few keys: a cursor or two)."""
        prefix = self.keys.index("worker", "")
        found = {
            text(key)[len(prefix) :]
            async for key in self.redis.scan_iter(match=prefix + "*", count=1000, _type="zset")
        }
        return sorted(found)

    async def _read_states(
        self, task_ids: list[str], decode: Callable[[bytes], TaskState]
    ) -> list[TaskState]:
        if not task_ids:
            return []
        raws = await self.redis.hmget(self.keys.TASK_STATES, task_ids)
        return decoded([raw for raw in raws if raw is not None], decode, "state")
