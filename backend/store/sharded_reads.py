"""A sharded store's reads: each asks every shard at once and merges (see
:mod:`backend.store.sharded`).

- sums: counters, depths, the board's counts, the per-minute history, queue figures;
- merges by the listing's order: board cards, ``find``/``list_tasks`` pages (each
  shard lists up to ``offset + limit`` of its matches, the merge keeps the page),
  the newest ids, pending entries (oldest first);
- unions: cancel requests, consumers (a worker reads every shard: one consumer);
- a worker's reads: :mod:`backend.store.shard_reader`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from backend import keys
from backend.protocol import DEFAULT_QUEUE, TaskStatus
from backend.state import TaskState, decode_state
from backend.store.board import BoardCounts, BoardSnapshot
from backend.store.ids import qualify
from backend.store.pending import PendingEntry
from backend.store.query import MATCH_PAGE, SEARCH_CHUNK, SearchProgress
from backend.store.queue import SUBMIT_SOURCE
from backend.store.queues import QueueInfo
from backend.store.shard_reader import ShardReader
from backend.task_filter import TaskFilter


class ShardedReads(ShardReader):
    """Fan-out reads over the shards, merged."""

    # -- states ------------------------------------------------------------------------

    async def snapshot(
        self, batch: int = 5000, *, decode: Callable[[bytes], TaskState] = decode_state
    ) -> AsyncIterator[list[TaskState]]:
        for shard in await self.shards():
            async for states in shard.snapshot(batch, decode=decode):
                yield states

    async def newest_ids(self, count: int) -> list[str]:
        heads = await self.each(
            lambda shard: shard.redis.zrevrange(
                shard.keys.TASK_INDEX, 0, count - 1, withscores=True
            )
        )
        merged = sorted((pair for head in heads for pair in head), key=lambda p: -p[1])
        return [_text(task_id) for task_id, _ in merged[:count]]

    # -- listings ----------------------------------------------------------------------

    async def _ids(
        self, wanted: TaskFilter, *, limit: int, offset: int
    ) -> tuple[int, list[str], bool]:
        shards = await self.shards()
        if len(shards) == 1:
            return await shards[0]._ids(wanted, limit=limit, offset=offset)
        found = await self.each(lambda shard: shard._ids(wanted, limit=offset + limit, offset=0))
        merged = await self._merged(wanted, [ids for _, ids, _ in found])
        total = sum(part[0] for part in found)
        return total, merged[offset : offset + limit], all(part[2] for part in found)

    async def matching_ids(self, wanted: TaskFilter, *, page: int = MATCH_PAGE) -> list[str]:
        found = await self.each(lambda shard: shard.matching_ids(wanted, page=page))
        return await self._merged(wanted, found)

    async def _merged(self, wanted: TaskFilter, found: list[list[str]]) -> list[str]:
        """Each shard's ids (in the listing's order) merged in that order."""
        shards = await self.shards()
        scores = await asyncio.gather(
            *(self._scores(shard, wanted, ids) for shard, ids in zip(shards, found, strict=True))
        )
        merged = sorted(
            (pair for scored in scores for pair in scored),
            key=lambda pair: pair[1],
            reverse=wanted.sort.startswith("-"),
        )
        return [task_id for task_id, _ in merged]

    @staticmethod
    async def _scores(shard: Any, wanted: TaskFilter, ids: list[str]) -> list[tuple[str, float]]:
        """Each id with its score in the set the listing is sorted by."""
        if not ids:
            return []
        sortset = shard._query_call(wanted)[0][0]
        scores = await shard.redis.zmscore(sortset, ids)
        return [(i, float(s or 0)) for i, s in zip(ids, scores, strict=True)]

    async def search_steps(
        self, wanted: TaskFilter, *, chunk: int = SEARCH_CHUNK
    ) -> AsyncIterator[SearchProgress]:
        steppers = [shard.search_steps(wanted, chunk=chunk) for shard in await self.shards()]
        firsts = [await anext(stepper) for stepper in steppers]
        progress = SearchProgress(sum(first.candidates for first in firsts))
        yield progress
        for stepper in steppers:
            searched, matches = progress.searched, progress.matches
            async for step in stepper:
                progress.searched, progress.matches = (
                    searched + step.searched,
                    matches + step.matches,
                )
                if not step.done:
                    yield progress
        progress.done = True
        yield progress

    # -- the board -----------------------------------------------------------------------

    async def _board(
        self, shown: int, busy: int, decode: Callable[[bytes], TaskState], *, per_worker: bool
    ) -> BoardSnapshot:
        parts = await self.each(
            lambda shard: shard._board(shown, busy, decode, per_worker=per_worker)
        )
        counts = BoardCounts()
        states: list[TaskState] = []
        for part in parts:
            states += part.states
            _add(counts.statuses, part.counts.statuses)
            _add(counts.workers, part.counts.workers)
            for worker, ended in part.counts.ended.items():
                _add(counts.ended.setdefault(worker, {}), ended)
        # each shard's columns, cut again to the board's bounds over all of them
        states.sort(key=lambda state: state.created or 0)
        picked: dict[str, TaskState] = {}
        for status in (TaskStatus.PENDING, TaskStatus.RETRYING):
            picked.update((s.id, s) for s in [s for s in states if s.status is status][:shown])
        newest = states[::-1]
        if busy > 0:
            running = [s for s in newest if s.status is TaskStatus.PROCESSING]
            picked.update((s.id, s) for s in running[:busy])
        if per_worker:
            for worker in counts.workers:
                if worker in ("", SUBMIT_SOURCE):
                    continue
                picked.update((s.id, s) for s in [s for s in newest if s.worker == worker][:shown])
        return BoardSnapshot(list(picked.values()), counts)

    async def status_counts(self) -> tuple[dict[TaskStatus, int], int]:
        statuses: dict[TaskStatus, int] = {}
        retained = 0
        for counts, held in await self.each(lambda shard: shard.status_counts()):
            _add(statuses, counts)
            retained += held
        return statuses, retained

    # -- figures -----------------------------------------------------------------------

    async def minutes(self, first: int, last: int) -> dict[int, dict[str, int]]:
        merged: dict[int, dict[str, int]] = {}
        for found in await self.each(lambda shard: shard.minutes(first, last)):
            for minute, counts in found.items():
                _add(merged.setdefault(minute, {}), counts)
        return dict(sorted(merged.items()))

    async def queue_infos(self, queues: Sequence[str] | None = None) -> list[QueueInfo]:
        names = list(queues) if queues is not None else await self.queue_names()
        paused = await self.paused()
        parts = await self.each(lambda shard: shard.queue_infos(names))
        infos = []
        for index, name in enumerate(names):
            each = [part[index] for part in parts]
            ages = [info.oldest_age for info in each if info.oldest_age is not None]
            infos.append(
                QueueInfo(
                    name=name,
                    stream=",".join(info.stream for info in each),
                    depth=sum(info.depth for info in each),
                    lag=sum(info.lag for info in each),
                    pending=sum(info.pending for info in each),
                    consumers=max(info.consumers for info in each),
                    oldest_age=max(ages, default=None),
                    scheduled=sum(info.scheduled for info in each),
                    paused=name in paused,
                )
            )
        return infos

    async def consumers(self, queue: str = DEFAULT_QUEUE) -> list[dict[str, Any]]:
        """Every shard's consumers of ``queue``, one record per name (entries held
        summed, the shortest idle, reading in any shard)."""
        merged: dict[str, dict[str, Any]] = {}
        for found in await self.each(lambda shard: shard.consumers(queue)):
            for consumer in found:
                seen = merged.setdefault(consumer["name"], dict(consumer, pending=0))
                seen["pending"] += consumer["pending"]
                seen["idle"] = min(seen["idle"], consumer["idle"])
                seen["reading"] = seen["reading"] or consumer["reading"]
        return list(merged.values())

    async def queue_depth(self) -> dict[str, int]:
        depth = {"length": 0, "lag": 0, "pending": 0}
        for found in await self.each(lambda shard: shard.queue_depth()):
            for name in depth:
                depth[name] += found[name]
        depth["consumers"] = sum(c["reading"] for c in await self.consumers())
        return depth

    # -- pending entries (the console) ---------------------------------------------------

    async def pending_entries(
        self, consumer: str | None = None, limit: int = 1000, stream: str | None = None
    ) -> list[PendingEntry]:
        shards = await self.shards()
        found = await self.each(lambda shard: shard.pending_entries(consumer, limit, stream))
        entries = []
        for shard, part in zip(shards, found, strict=True):
            for entry in part:
                entry.entry = qualify(DEFAULT_QUEUE, entry.entry.encode(), shard.shard).decode()
                entries.append(entry)
        entries.sort(key=lambda entry: -entry.idle)
        return entries[:limit]

    async def move_pending(
        self, entries: Sequence[str], to_consumer: str, stream: str | None = None
    ) -> int:
        groups = await self.by_entry(entries)
        moved = await asyncio.gather(
            *(shard.move_pending(_bare(held), to_consumer, stream) for shard, held in groups)
        )
        return sum(moved)

    async def release_pending(self, entries: Sequence[str], stream: str | None = None) -> int:
        groups = await self.by_entry(entries)
        released = await asyncio.gather(
            *(shard.release_pending(_bare(held), stream) for shard, held in groups)
        )
        return sum(released)

    # -- upkeep --------------------------------------------------------------------------

    async def trim_stream(self) -> int:
        return sum(await self.each(lambda shard: shard.trim_stream()))

    async def settle(self, most: int = 0) -> int:
        return sum(await self.each(lambda shard: shard.settle(most)))

    async def finish_settling(self, within: float = 5.0) -> None:
        await self.each(lambda shard: shard.finish_settling(within))

    async def forget_consumers(self, *, idle: float, keep: str) -> list[str]:
        """Consumers gone from every shard's group (their heartbeats are home)."""
        quiet = await self._quiet_consumers(idle, keep)  # over every shard's group
        if not quiet:
            return []
        alive = await asyncio.gather(*(self.redis.exists(self.keys.worker_alive(n)) for n in quiet))
        gone = [name for name, up in zip(quiet, alive, strict=True) if not up]
        shards = await self.shards()
        await asyncio.gather(
            *(
                shard._forget_consumer(
                    keys=[shard.keys.TASK_STREAM], args=[keys.WORKER_GROUP, name]
                )
                for name in gone
                for shard in shards
            )
        )
        return gone


def _add(into: dict[Any, int], counts: dict[Any, int]) -> None:
    for key, value in counts.items():
        into[key] = into.get(key, 0) + value


def _bare(held: list[bytes]) -> list[str]:
    """Pending entry ids of one shard, without its tag."""
    return [entry.decode().rpartition("#")[2] for entry in held]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
