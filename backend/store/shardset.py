"""The shards of one logical queue in a cluster, and the rules that route to them.

A sharded store (:class:`~backend.store.sharded.ShardedStore`) is a facade over one
:class:`~backend.store.TaskStore` per shard, each with the cluster layout of its hash
tag (:func:`backend.keys.cluster`): every key of a task (its queue's stream, its state,
the indexes, the history minutes, the counters, the due set, the cancel requests) is
in its shard's slot, so every script runs unchanged per shard. What is global stays
in the facade's own layout, the home tag ``{dt}``: workers and heartbeats, the queue
and paused sets, schedules and ticks, the shard tags, worker orders, dead letters.

The rules, one per concept:

- a **task** lives in shard ``crc32(id) % N`` (:meth:`ShardSet.shard_for`), fixed;
- a held **entry id** names its shard's tag (:mod:`backend.store.ids`);
- the **tags** are chosen once, when the queue is first created, and stored
  (:func:`backend.shards.shard_tags`): ``DISTRITASK_SHARDS`` of them, 0 meaning one
  per primary; one shard is the home tag itself (the keys of an unsharded cluster).

The tags are read on first use (the store is made before the broker may be up).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from backend.keys import Layout
from backend.shards import resolve_tags
from backend.store import TaskStore
from backend.store.ids import by_shard

T = TypeVar("T")


def shard_index(task_id: str, count: int) -> int:
    """The shard of task ``task_id`` among ``count`` (CRC-32 of its id: fixed, and the
    same in every process)."""
    return zlib.crc32(task_id.encode()) % count


class ShardSet(TaskStore):
    """A store whose tasks are spread over shards (see the module docstring); this
    class finds the shards and routes to them, its subclasses act."""

    def __init__(self, redis: Any, *, wanted: int = 0, **options: Any) -> None:
        super().__init__(redis, **options)
        self.wanted = wanted
        self._shards: list[TaskStore] | None = None
        self._by_tag: dict[str, TaskStore] = {}
        self._resolving = asyncio.Lock()

    async def shards(self) -> list[TaskStore]:
        """Every shard's store, in the stored order (read once, on first use)."""
        if self._shards is None:
            async with self._resolving:
                if self._shards is None:
                    tags = await resolve_tags(self.redis, self.keys, self.wanted)
                    made = [
                        TaskStore(
                            self.redis,
                            retention=self._per_shard(self.retention, len(tags)),
                            listener=self.listener,
                            classic_updates=self.keys.classic_updates,
                            replicas=self.replicas,
                            replicas_timeout=self.replicas_timeout,
                            shard=tag,
                        )
                        for tag in tags
                    ]
                    self._by_tag = {tag: shard for tag, shard in zip(tags, made, strict=True)}
                    self._shards = made
        return self._shards

    @staticmethod
    def _per_shard(retention: int, count: int) -> int:
        return max(1, -(-retention // count))

    async def parts(self) -> list[TaskStore]:
        return list(await self.shards())

    async def channel_layouts(self) -> list[Layout]:
        return [shard.keys for shard in await self.shards()]

    async def shard_for(self, task_id: str) -> TaskStore:
        """The shard that holds task ``task_id``."""
        shards = await self.shards()
        return shards[shard_index(task_id, len(shards))]

    async def by_task(
        self, items: Iterable[T], task_id: Any = None
    ) -> list[tuple[TaskStore, list[T]]]:
        """``items`` (task ids, or anything ``task_id`` maps to one) grouped by shard,
        in order within each."""
        shards = await self.shards()
        groups: dict[int, list[T]] = {}
        for item in items:
            ident = item if task_id is None else task_id(item)
            groups.setdefault(shard_index(str(ident), len(shards)), []).append(item)
        return [(shards[index], members) for index, members in groups.items()]

    async def by_entry(
        self, entry_ids: Sequence[bytes | str]
    ) -> list[tuple[TaskStore, list[bytes]]]:
        """Held entry ids grouped by the shard they name; ``ValueError`` for one that
        names no shard of this queue."""
        await self.shards()
        groups = []
        for tag, held in by_shard(entry_ids).items():
            shard = self._by_tag.get(tag) if tag is not None else None
            if shard is None:
                raise ValueError(f"entry {held[0]!r} names no shard of this queue")
            groups.append((shard, held))
        return groups

    async def each(self, call: Any) -> list[Any]:
        """``call(shard)`` for every shard at once (each shard's node on a connection of
        its own); the results in shard order."""
        return list(await asyncio.gather(*(call(shard) for shard in await self.shards())))
