"""The task streams and their worker group: read, claim, keep, hand back; the task index.

Submits are in :mod:`backend.store.submits`; the group's consumers and the stream's
depth in :mod:`backend.store.consumers`; dead letters (written when a task cannot
run) in :mod:`backend.store.deadletters`. Workers read with XREADGROUP, find
abandoned entries with XPENDING … IDLE, take them over and keep their own fresh with
XCLAIM; all of it
is here, so no other module issues a task stream command.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis as SyncRedis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from backend import connection, keys
from backend.protocol import (
    DEFAULT_QUEUE,
    SUBMITTER,
    Forgotten,
    Task,
    encode_forgotten,
    encode_task,
)
from backend.store.base import Base, text
from backend.store.ids import Entry, by_shard, qualified, qualify, split, unqualify

log = logging.getLogger("backend.store")

SUBMIT_SOURCE = SUBMITTER
"""The ``worker`` a pending update names, as the Go manager's does."""
SUBMIT_BATCH = 1000
"""Tasks per submit command (a script: the server is busy ~1 ms per thousand)."""
FORGET_CHUNK = 2000
"""Task ids per forget command when trimming."""
KEEP_CHUNK = 1000
"""Entry ids per XCLAIM when keeping held entries fresh."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A delivered entry not yet acknowledged, as XPENDING describes it."""

    entry_id: bytes
    consumer: str
    """The consumer holding it (one of our workers' names, or e.g. a Go ``dispatcher``)."""
    idle: float
    """Seconds since it was last delivered or kept."""
    deliveries: int
    """How many times it was delivered (each reclaim is one more)."""


class Queue(Base):
    """Stream and group operations."""

    _submit: AsyncScript
    _promote: AsyncScript
    _forget: AsyncScript
    known_queues: set[str]
    """Queue names this process has noted in :data:`keys.QUEUES`."""

    async def ensure_group(self) -> None:
        """Create the ``default`` stream and the worker group if missing."""
        await self.ensure_groups([DEFAULT_QUEUE])

    async def ensure_groups(self, queues: Iterable[str]) -> None:
        """Create each queue's stream and the group if missing (from the stream's start),
        and note the queue names (:data:`keys.QUEUES`)."""
        queues = list(queues)
        for queue in queues:
            try:
                await self.redis.xgroup_create(
                    self.keys.stream(queue), keys.WORKER_GROUP, id="0", mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        await self.note_queues(queues)

    async def note_queues(self, queues: Iterable[str]) -> None:
        """Remember queue names (for ``GET /queues`` and the promoters); once per process."""
        new = [queue for queue in queues if queue not in self.known_queues]
        if new:
            await self.redis.sadd(self.keys.QUEUES, *new)
            self.known_queues.update(new)

    async def queue_names(self) -> list[str]:
        """Every queue tasks were submitted to or workers read, ``default`` first."""
        names = {text(name) for name in await self.redis.smembers(self.keys.QUEUES)}
        names.add(DEFAULT_QUEUE)
        return sorted(names, key=lambda name: (name != DEFAULT_QUEUE, name))

    async def wake_promoters(self) -> None:
        """Tell every promoter a schedule changed (it plans its next wake-up again)."""
        await self.redis.publish(keys.SCHEDULED_CHANNEL, str(time.time()))

    async def trim(self) -> int:
        """Forget the oldest task states beyond the retention; how many were dropped."""
        excess = int(await self.redis.zcard(self.keys.TASK_INDEX)) - self.retention
        if excess <= 0:
            return 0
        oldest = [text(i) for i in await self.redis.zrange(self.keys.TASK_INDEX, 0, excess - 1)]
        for first in range(0, len(oldest), FORGET_CHUNK):
            await self.forget(oldest[first : first + FORGET_CHUNK])
        return len(oldest)

    async def forget(self, task_ids: Sequence[str]) -> int:
        """Forget tasks: their states, index entries and cancel requests (one script);
        how many states there were."""
        if not task_ids:
            return 0
        return int(
            await self._forget(
                keys=[self.keys.TASK_STATES, self.keys.CANCELLED], args=list(task_ids)
            )
        )

    async def announce_forgotten(self, task_ids: Sequence[str]) -> None:
        """Tell every viewer (``keys.FORGOTTEN_CHANNEL``) that these tasks' states were
        deleted, so they drop them (nothing for no ids). A user's delete announces,
        trimming to the retention does not (the oldest tasks go; a board holds the newest)."""
        if task_ids:
            notice = encode_forgotten(Forgotten(ids=list(task_ids)))
            await self.redis.publish(keys.FORGOTTEN_CHANNEL, notice)

    async def newest_ids(self, count: int) -> list[str]:
        """The ids of the ``count`` most recently submitted tasks, newest first."""
        return [text(i) for i in await self.redis.zrevrange(self.keys.TASK_INDEX, 0, count - 1)]

    async def schedule_retry(self, task: Task, due: float) -> None:
        """Put ``task`` back on its queue at epoch time ``due`` (and wake the promoters:
        a publish of its own, as a cluster pipeline cannot carry one)."""
        await self.redis.zadd(self.keys.due(task.queue), {encode_task(task): due})
        await self.redis.publish(keys.SCHEDULED_CHANNEL, str(due))

    async def promote_due(self, queue: str = DEFAULT_QUEUE, limit: int = 500) -> int:
        """Move the delayed tasks and retries of ``queue`` that are due onto its stream;
        how many moved. Atomic: any number of promoters may run, each task moves once."""
        moved = await self._promote(
            keys=[self.keys.due(queue), self.keys.stream(queue)],
            args=[time.time(), limit, keys.TASK_FIELD],
        )
        return int(moved)

    async def next_due(self, queues: Sequence[str]) -> float | None:
        """The earliest due time in the schedules of ``queues`` (``None``: all empty)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zrange(self.keys.due(queue), 0, 0, withscores=True)
            replies = await pipe.execute()
        heads = [float(head[0][1]) for head in replies if head]
        return min(heads, default=None)

    # -- a worker's reads ------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _group_kept(self, queues: Sequence[str]) -> AsyncIterator[None]:
        """Run a group command; if the group is gone (NOGROUP: the data was flushed),
        create it again and swallow the error (the caller then returns nothing)."""
        try:
            yield
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("the worker group was gone (data flushed?); creating it again")
            await self.ensure_groups(queues)

    async def read_own(
        self, consumer: str, count: int, queues: Sequence[str] = (DEFAULT_QUEUE,)
    ) -> list[Entry]:
        """Entries delivered to ``consumer`` earlier and not acknowledged (XREADGROUP 0),
        from each of ``queues``; ids qualified."""
        entries: list[Entry] = []
        for queue in queues:
            async with self._group_kept([queue]):
                reply = await self.redis.xreadgroup(
                    keys.WORKER_GROUP, consumer, {self.keys.stream(queue): "0"}, count=count
                )
                entries += qualified(queue, _entries(reply), self.shard)
        return entries

    async def pending_idle(
        self, min_idle: float, start: str, count: int, queue: str = DEFAULT_QUEUE
    ) -> list[Pending]:
        """Up to ``count`` delivered, unacknowledged entries of ``queue`` idle for
        ``min_idle`` seconds or more, from stream id ``start`` (``"-"``, or ``"(<id>"``
        to start after one) on, with who holds them and how often they were delivered
        (XPENDING … IDLE). Their ids are qualified."""
        async with self._group_kept([queue]):
            rows = await self.redis.xpending_range(
                self.keys.stream(queue),
                keys.WORKER_GROUP,
                start,
                "+",
                count,
                idle=int(min_idle * 1000),
            )
            return [
                Pending(
                    entry_id=qualify(queue, _bytes(row["message_id"]), self.shard),
                    consumer=text(row["consumer"]),
                    idle=int(row["time_since_delivered"]) / 1000,
                    deliveries=int(row["times_delivered"]),
                )
                for row in rows
            ]
        return []

    async def claim(self, consumer: str, min_idle: float, ids: Sequence[bytes]) -> list[Entry]:
        """Take over the entries ``ids`` (held ids, of any queues) that are still idle
        for ``min_idle`` seconds or more (so two workers never both take one); their
        fields (XCLAIM). Entries deleted meanwhile are dropped from the pending list and
        not returned."""
        entries: list[Entry] = []
        for queue, bare in split(ids).items():
            async with self._group_kept([queue]):
                claimed = await self.redis.xclaim(
                    self.keys.stream(queue), keys.WORKER_GROUP, consumer, int(min_idle * 1000), bare
                )
                entries += qualified(queue, claimed, self.shard)
        return entries

    async def keep(self, consumer: str, ids: Sequence[bytes | str]) -> None:
        """Reset the idle time of entries ``consumer`` holds (XCLAIM JUSTID, in chunks).

        With the group gone (the data was flushed), there is nothing left to keep."""
        for queue, bare in split(ids).items():
            async with self._group_kept([queue]):
                for start in range(0, len(bare), KEEP_CHUNK):
                    await self.redis.xclaim(
                        self.keys.stream(queue),
                        keys.WORKER_GROUP,
                        consumer,
                        0,
                        bare[start : start + KEEP_CHUNK],
                        justid=True,
                    )

    async def hand_back(self, raws: Sequence[bytes], entry_ids: Sequence[bytes]) -> None:
        """Queue ``raws`` again as new entries of their queues and acknowledge
        ``entry_ids`` (held ids, one per raw), in one MULTI."""
        if not entry_ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for raw, entry_id in zip(raws, entry_ids, strict=True):
                queue, _ = unqualify(entry_id)
                pipe.xadd(self.keys.stream(queue), {keys.TASK_FIELD: raw})
            for queue, bare in split(entry_ids).items():
                pipe.xack(self.keys.stream(queue), keys.WORKER_GROUP, *bare)
            await pipe.execute()


def keep_sync(redis: SyncRedis, consumer: str, ids: Sequence[bytes | str]) -> None:
    """:meth:`Queue.keep` for a thread with its own synchronous client (the worker's
    keeper, which must not depend on a free event loop). No group: nothing to keep.
    Ids that name a shard (:mod:`backend.store.ids`) are kept in that shard's streams."""
    plain = connection.layout(redis)
    for tag, held in by_shard(ids).items():
        layout = plain if tag is None else keys.cluster(tag)
        for queue, bare in split(held).items():
            try:
                for start in range(0, len(bare), KEEP_CHUNK):
                    redis.xclaim(
                        layout.stream(queue),
                        keys.WORKER_GROUP,
                        consumer,
                        0,
                        bare[start : start + KEEP_CHUNK],
                        justid=True,
                    )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply on the one task stream."""
    entries: list[Entry] = []
    for _, batch in reply or []:
        entries.extend(batch or [])
    return entries
