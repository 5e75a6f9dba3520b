"""A worker's reads over a sharded queue: every shard, batched per node.

:meth:`ShardReader.read_first` first looks at each shard in turn without blocking (the
shard's read script: strict priority over the worker's queues, paused ones skipped),
starting one shard further on each call so no shard is always last, and takes at most
``count`` entries in all (the worker's prefetch window). Priority between queues
therefore holds within each shard.

With nothing anywhere it blocks: **one blocking read per node**, each on a connection
of its own (never several blocking reads queued on one connection), on one shard of
that node (another one each call when a node holds several shards: then the reads
block only :data:`BRIEF_MS`, so the node's other shards are looked at again soon).
The first read that brings entries ends the wait; the others are woken at once
(``CLIENT UNBLOCK`` of their connections: cancelling a read would leave its
connection blocked on the server) and what they took is returned too; entries
beyond ``count`` are handed back to their stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from backend import keys
from backend.store import TaskStore
from backend.store.ids import Entry
from backend.store.shardset import ShardSet

BRIEF_MS = 100
"""Milliseconds a blocking read lasts on a node that holds several shards."""
WAKE_AGAIN = 0.02
"""Seconds to wait for woken reads before waking those still starting again."""


class ShardReader(ShardSet):
    """Reading every shard of the worker's queues."""

    _turn = 0
    _waking: asyncio.Future[Any] | None = None
    """The wake-up of reads left behind by a read that stopped (kept while it runs)."""

    async def read_first(
        self, consumer: str, queues: Sequence[str], count: int, block_ms: int
    ) -> list[Entry]:
        shards = await self.shards()
        if len(shards) == 1:
            return await shards[0].read_first(consumer, queues, count, block_ms)
        self._turn = (self._turn + 1) % len(shards)
        entries: list[Entry] = []
        for shard in shards[self._turn :] + shards[: self._turn]:
            if len(entries) >= count:
                break
            entries += await shard.read_first(consumer, queues, count - len(entries), 0)
        if entries or block_ms <= 0:
            return entries
        return await self._within(await self._block(consumer, queues, count, block_ms), count)

    async def _block(
        self, consumer: str, queues: Sequence[str], count: int, block_ms: int
    ) -> list[Entry]:
        """One blocking read per node, until one brings entries (or all time out); the
        others are then woken (``CLIENT UNBLOCK``) and what they took is kept too."""
        nodes = self._nodes(await self.shards())
        wait = block_ms if all(len(on) == 1 for on in nodes) else min(block_ms, BRIEF_MS)
        per = max(1, count // len(nodes))
        reads: dict[asyncio.Future[list[Entry]], TaskStore] = {}
        for on in nodes:
            shard = on[self._turn % len(on)]
            reads[asyncio.ensure_future(shard.read_first(consumer, queues, per, wait))] = shard
        entries: list[Entry] = []
        left = set(reads)
        try:
            while left and not entries:
                done, left = await asyncio.wait(left, return_when=asyncio.FIRST_COMPLETED)
                entries += [entry for read in done for entry in read.result()]
            while left:  # a read not blocking yet is woken on the next turn
                await asyncio.gather(*(reads[read].wake_reads() for read in left))
                done, left = await asyncio.wait(left, timeout=WAKE_AGAIN)
                entries += [entry for read in done for entry in read.result()]
        finally:
            if left:  # stopped (or a read failed): end the others on the server too
                self._waking = asyncio.ensure_future(
                    asyncio.gather(
                        *(reads[read].wake_reads() for read in left), return_exceptions=True
                    )
                )
                for read in left:
                    read.cancel()
        return entries

    async def wake_reads(self) -> int:
        """End every shard's blocking reads now (a worker stopping); how many there were."""
        return sum(await self.each(lambda shard: shard.wake_reads()))

    def _nodes(self, shards: Sequence[TaskStore]) -> list[list[TaskStore]]:
        """The shards grouped by the node that holds their streams."""
        cluster: Any = self.redis
        by_node: dict[str, list[TaskStore]] = {}
        for shard in shards:
            node = cluster.get_node_from_key(shard.keys.TASK_STREAM)
            by_node.setdefault(node.name if node is not None else "", []).append(shard)
        return list(by_node.values())

    async def _within(self, entries: list[Entry], count: int) -> list[Entry]:
        """``entries`` cut to ``count``; those beyond it queued again, released."""
        if len(entries) <= count:
            return entries
        field = keys.TASK_FIELD.encode()
        kept, extra = entries[:count], entries[count:]
        back = [
            (entry_id, fields[field]) for entry_id, fields in extra if fields and field in fields
        ]
        kept += [entry for entry in extra if not (entry[1] and field in entry[1])]
        await self.hand_back([raw for _, raw in back], [entry_id for entry_id, _ in back])
        return kept
