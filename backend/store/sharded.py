"""One logical queue over N shard streams in a cluster: the store every part uses there.

:class:`ShardedStore` is what :meth:`backend.store.TaskStore.from_settings` returns for
a cluster. Where a task lives and how ids name their shard is
:mod:`backend.store.shardset`; the reads that fan out and merge (listings, the board,
figures, a worker's reads) are :mod:`backend.store.sharded_reads`. Here: the writes.

- **Submit** groups the tasks by shard and runs each shard's submit at once (one
  script per batch per shard; each shard's node on its own connection), so a batch
  spreads over every primary; a delayed task waits in its shard's due set and the
  promoters move each shard's (:meth:`promote_due` sums them).
- **Outcomes** (:meth:`write`): updates, states and cancel requests go to the shard of
  their task, acks to the shard their entry names, one script per shard (a task's
  entry is in its own shard, so its ack still rides with its state).
- **Pause** is written home (the list the console shows) and into every shard (the
  set each shard's read script checks).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backend.protocol import StatusUpdate, Task
from backend.state import TaskState
from backend.store.ids import Entry
from backend.store.queue import SUBMIT_SOURCE, Pending
from backend.store.sharded_reads import ShardedReads
from backend.store.submits import Submitted
from backend.store.templates import NewTask


class ShardedStore(ShardedReads):
    """A :class:`~backend.store.TaskStore` whose tasks are spread over the shards of a
    cluster (see the module docstring)."""

    # -- queues ------------------------------------------------------------------------

    async def ensure_groups(self, queues: Iterable[str]) -> None:
        queues = list(queues)
        await self.each(lambda shard: shard.ensure_groups(queues))
        await self.note_queues(queues)

    async def pause(self, queue: str) -> bool:
        await self.each(lambda shard: shard.pause(queue))
        return await super().pause(queue)

    async def resume(self, queue: str) -> bool:
        await self.each(lambda shard: shard.resume(queue))
        return await super().resume(queue)

    async def trim(self) -> int:
        shards = await self.shards()
        for shard in shards:
            shard.retention = self._per_shard(self.retention, len(shards))
        return sum(await self.each(lambda shard: shard.trim()))

    async def forget(self, task_ids: Sequence[str]) -> int:
        groups = await self.by_task(task_ids)
        return sum(await asyncio.gather(*(shard.forget(ids) for shard, ids in groups)))

    async def schedule_retry(self, task: Task, due: float) -> None:
        await (await self.shard_for(task.id)).schedule_retry(task, due)

    async def promote_due(self, queue: str = "default", limit: int = 500) -> int:
        return sum(await self.each(lambda shard: shard.promote_due(queue, limit)))

    async def next_due(self, queues: Sequence[str]) -> float | None:
        heads = await self.each(lambda shard: shard.next_due(queues))
        return min((head for head in heads if head is not None), default=None)

    # -- a worker's holds --------------------------------------------------------------

    async def read_own(
        self, consumer: str, count: int, queues: Sequence[str] = ("default",)
    ) -> list[Entry]:
        found = await self.each(lambda shard: shard.read_own(consumer, count, queues))
        return [entry for entries in found for entry in entries]

    async def pending_idle(
        self, min_idle: float, start: str, count: int, queue: str = "default"
    ) -> list[Pending]:
        """Every shard's (``start`` applies to each shard's stream: a worker pages
        through one shard at a time, :meth:`parts`)."""
        found = await self.each(lambda shard: shard.pending_idle(min_idle, start, count, queue))
        return [row for rows in found for row in rows][:count]

    async def claim(self, consumer: str, min_idle: float, ids: Sequence[bytes]) -> list[Entry]:
        groups = await self.by_entry(ids)
        found = await asyncio.gather(
            *(shard.claim(consumer, min_idle, held) for shard, held in groups)
        )
        return [entry for entries in found for entry in entries]

    async def keep(self, consumer: str, ids: Sequence[bytes | str]) -> None:
        groups = await self.by_entry(ids)
        await asyncio.gather(*(shard.keep(consumer, held) for shard, held in groups))

    async def hand_back(self, raws: Sequence[bytes], entry_ids: Sequence[bytes]) -> None:
        raw_of = dict(zip((_bytes(i) for i in entry_ids), raws, strict=True))
        groups = await self.by_entry(entry_ids)
        await asyncio.gather(
            *(shard.hand_back([raw_of[i] for i in held], held) for shard, held in groups)
        )

    # -- submits -----------------------------------------------------------------------

    async def enqueue(
        self, tasks: Sequence[Task], *, source: str = SUBMIT_SOURCE, replace: bool = False
    ) -> Submitted:
        await self.note_queues({task.queue for task in tasks})
        groups = await self.by_task(tasks, lambda task: task.id)
        done = await asyncio.gather(
            *(shard.enqueue(batch, source=source, replace=replace) for shard, batch in groups)
        )
        states = {state.id: state for part in done for state in part.states}
        duplicates = {task_id for part in done for task_id in part.duplicates}
        order = [task.id for task in tasks]
        return Submitted(
            [states[i] for i in order if i in states], [i for i in order if i in duplicates]
        )

    async def enqueue_new(
        self, tasks: Sequence[NewTask], *, source: str = SUBMIT_SOURCE, replace: bool = False
    ) -> Submitted:
        groups = await self.by_task(tasks, lambda task: task.task_id)
        done = await asyncio.gather(
            *(shard.enqueue_new(batch, source=source, replace=replace) for shard, batch in groups)
        )
        duplicates = {task_id for part in done for task_id in part.duplicates}
        return Submitted([], [t.task_id for t in tasks if t.task_id in duplicates])

    async def requeue(self, state: TaskState) -> TaskState:
        return await (await self.shard_for(state.id)).requeue(state)

    # -- states ------------------------------------------------------------------------

    async def write(
        self,
        updates: Sequence[bytes | str],
        states: Mapping[str, bytes | str],
        counts: Mapping[str, int],
        *,
        ack: Sequence[bytes | str] = (),
        forget_cancels: Sequence[str] = (),
    ) -> None:
        shards = await self.shards()
        parts: dict[int, _Write] = {}

        def part(shard: Any) -> _Write:
            return parts.setdefault(shards.index(shard), _Write())

        for shard, raws in await self.by_task(updates, _update_id):
            part(shard).updates += raws
        for shard, ids in await self.by_task(states):
            part(shard).states.update((task_id, states[task_id]) for task_id in ids)
        for shard, held in await self.by_entry(ack):
            part(shard).ack += held
        for shard, ids in await self.by_task(forget_cancels):
            part(shard).forget += ids
        if counts:
            part(shards[0]).counts.update(counts)
        await asyncio.gather(
            *(
                shards[index].write(
                    w.updates, w.states, w.counts, ack=w.ack, forget_cancels=w.forget
                )
                for index, w in parts.items()
            )
        )

    async def record_seen(self, update: StatusUpdate) -> TaskState | None:
        state = await (await self.shard_for(update.id)).record_seen(update)
        if state is not None and update.worker not in ("", SUBMIT_SOURCE):
            await self.redis.hset(self.keys.SEEN_WORKERS, update.worker, time.time())
        return state

    async def get(self, task_id: str) -> TaskState | None:
        return await (await self.shard_for(task_id)).get(task_id)

    async def get_many(self, task_ids: Sequence[str]) -> list[TaskState]:
        groups = await self.by_task(task_ids)
        found = await asyncio.gather(*(shard.get_many(ids) for shard, ids in groups))
        by_id = {state.id: state for states in found for state in states}
        return [by_id[task_id] for task_id in task_ids if task_id in by_id]

    async def known(self, task_ids: Sequence[str]) -> list[bool]:
        groups = await self.by_task(task_ids)
        found = await asyncio.gather(*(shard.known(ids) for shard, ids in groups))
        retained: dict[str, bool] = {}
        for (_, ids), flags in zip(groups, found, strict=True):
            retained.update(zip(ids, flags, strict=True))
        return [retained[task_id] for task_id in task_ids]

    async def counters(self) -> dict[str, int]:
        """Each shard's counters, summed."""
        totals: dict[str, int] = {}
        for counts in await self.each(lambda shard: shard.counters()):
            for name, value in counts.items():
                totals[name] = totals.get(name, 0) + value
        return totals

    async def request_cancel(self, task_id: str) -> TaskState | None:
        return await (await self.shard_for(task_id)).request_cancel(task_id)

    async def is_cancelled(self, task_id: str) -> bool:
        return await (await self.shard_for(task_id)).is_cancelled(task_id)

    async def cancel_requests(self) -> set[str]:
        found = await self.each(lambda shard: shard.cancel_requests())
        return set().union(*found)

    async def cancels_and_states(
        self, task_ids: Sequence[str]
    ) -> tuple[list[bytes | None], list[bytes | None]]:
        groups = await self.by_task(task_ids)
        found = await asyncio.gather(*(shard.cancels_and_states(ids) for shard, ids in groups))
        cancels: dict[str, bytes | None] = {}
        stored: dict[str, bytes | None] = {}
        for (_, ids), (cancelled, raws) in zip(groups, found, strict=True):
            cancels.update(zip(ids, cancelled, strict=True))
            stored.update(zip(ids, raws, strict=True))
        return [cancels[i] for i in task_ids], [stored[i] for i in task_ids]


class _Write:
    """One shard's part of a :meth:`ShardedStore.write`."""

    def __init__(self) -> None:
        self.updates: list[bytes | str] = []
        self.states: dict[str, bytes | str] = {}
        self.counts: dict[str, int] = {}
        self.ack: list[bytes] = []
        self.forget: list[str] = []


def _update_id(raw: bytes | str) -> str:
    """The task id of a status update's JSON (from its first bytes when it starts with
    it, as ours do; else parsed)."""
    data = raw if isinstance(raw, bytes) else raw.encode()
    if data.startswith(b'{"id":"'):
        end = data.find(b'"', 7)
        if end > 7 and b"\\" not in data[7:end]:
            return data[7:end].decode()
    return str(json.loads(data)["id"])


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
