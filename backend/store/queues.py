"""Named queues: strict-priority reads over several streams, pause and resume.

Every queue is a stream (:func:`backend.keys.stream`; ``default`` is the Go services'
``task_stream``) read through the same group, ``worker_group``.

**Entry ids name their queue** (``b"<queue>/<id>"``, see :mod:`backend.store.ids`):
every method that takes entry ids back (acknowledge, keep, claim, hand back) splits
them by queue, so a worker holds entries of many queues without knowing it.

**Strict priority.** :meth:`Queues.read_next` runs one script that tries the
worker's queues in order, non-blocking (``XREADGROUP … >``), skipping paused ones,
and returns the entries of the first that has any: a later queue is read only when
every earlier one is empty. When all are empty it blocks on all of them at once
(one ``XREADGROUP BLOCK`` over the unpaused streams); an entry that arrives then
is taken from whichever queue it lands in first (entries that land in several
queues within the same instant come together, earlier queues first).

**Pause.** A paused queue's name is in the set :data:`backend.keys.PAUSED_QUEUES`
(so the pause survives restarts of every part). The read script checks it on every
read; the blocking read, which started before a pause, checks again when it wakes
(in the same round trip) and hands back what it took from a queue paused meanwhile.

**One queue** (the usual worker): the script has nothing to order, so once a read has
found the queue not paused, the next reads skip it and go straight to the blocking
read (it returns at once when entries wait): one command per read instead of two,
and no script on the path of a task to an idle worker. A pause is seen when that
read wakes, as above; from then on the script's check is used again until a read
finds the queue running. Tasks keep being
submitted and promoted into a paused queue; reclaiming a dead worker's entries goes
on (they were taken before).

Each queue's figures (depth, lag, the oldest waiting entry's age, paused) are
:mod:`backend.store.queue_figures`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from backend import keys, links, raw_link
from backend.store.base import log, text
from backend.store.framing import command
from backend.store.ids import Entry, qualified
from backend.store.queue import Queue
from backend.store.queue_figures import QueueInfo as QueueInfo  # re-exported (sharded_reads)


class Queues(Queue):
    """Queue-level operations (over :class:`~backend.store.queue.Queue`'s stream ones)."""

    _read_first: AsyncScript
    _blocked: set[tuple[str, int]]
    """The blocking reads in progress: (a key of their node, their connection's id)."""
    _running_queue: str | None = None
    """The single queue the last read found not paused (read directly: see the
    module's text), or ``None``."""

    # -- pause -------------------------------------------------------------------------

    async def pause(self, queue: str) -> bool:
        """Stop workers taking from ``queue``; whether it was running before."""
        await self.note_queues([queue])
        return bool(await self.redis.sadd(self.keys.PAUSED_QUEUES, queue))

    async def resume(self, queue: str) -> bool:
        """Let workers take from ``queue`` again; whether it was paused before."""
        return bool(await self.redis.srem(self.keys.PAUSED_QUEUES, queue))

    async def paused(self) -> set[str]:
        return {text(name) for name in await self.redis.smembers(self.keys.PAUSED_QUEUES)}

    # -- reading in priority order -------------------------------------------------------

    async def read_first(
        self, consumer: str, queues: Sequence[str], count: int, block_ms: int
    ) -> list[Entry]:
        """Up to ``count`` new entries of the first unpaused queue of ``queues`` that has
        any; with none, blocks up to ``block_ms`` on all the unpaused ones (0: returns at
        once). Ids are qualified (see :func:`qualify`)."""
        if block_ms > 0 and len(queues) == 1 and queues[0] == self._running_queue:
            return await self._read_blocking(consumer, queues, count, block_ms)
        try:
            reply = await self._read_first(
                keys=[self.keys.PAUSED_QUEUES, *(self.keys.stream(queue) for queue in queues)],
                args=[keys.WORKER_GROUP, consumer, count, *queues],
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("a worker group was gone (data flushed?); creating it again")
            await self.ensure_groups(queues)
            return []
        found = int(reply[0])
        if found:  # a script's reply: each entry's fields are a flat list
            [[_, batch]] = reply[1]
            if len(queues) == 1:
                self._running_queue = queues[0]
            return qualified(
                queues[found - 1],
                [(entry_id, _fields(flat)) for entry_id, flat in batch],
                self.shard,
            )
        if block_ms <= 0:  # only a look
            return []
        paused = {int(index) for index in reply[1:]}
        active = [queue for index, queue in enumerate(queues, 1) if index not in paused]
        if not active:
            await self._idle(block_ms)
            return []
        return await self._read_blocking(consumer, active, count, block_ms)

    async def _read_blocking(
        self, consumer: str, active: Sequence[str], count: int, block_ms: int
    ) -> list[Entry]:
        """Up to ``count`` new entries of the ``active`` queues (not paused when the read
        began), blocking up to ``block_ms``; what a queue paused meanwhile gave is
        handed back."""
        streams = tuple(self.keys.stream(queue) for queue in active)
        got: list[tuple[bytes, list[Entry]]] = []
        paused_now: Any = []  # stay so when a gone group is made again (nothing read)
        # The paused set is read right after the read wakes, in the same round trip:
        # the server runs the second command once the first has returned. The group
        # is kept: a stream may be deleted while we block.
        async with self._group_kept(active):
            got, paused_now = await self._read_wakeable(consumer, streams, count, block_ms)
        now_paused = {text(name) for name in paused_now}
        if len(active) == 1:
            self._running_queue = None if active[0] in now_paused else active[0]
        if not got:
            return []
        by_stream = {text(stream): batch for stream, batch in got}
        entries: list[Entry] = []
        for queue in active:
            batch = by_stream.get(self.keys.stream(queue))
            if not batch:
                continue
            if queue in now_paused:
                await self._give_back(queue, batch)
            else:
                entries += qualified(queue, batch, self.shard)
        return entries

    async def _read_wakeable(
        self, consumer: str, streams: tuple[str, ...], count: int, block_ms: int
    ) -> tuple[list[tuple[bytes, list[Entry]]], Any]:
        """The blocking read and the paused set, on a connection of its own whose id is
        noted while it blocks, so :meth:`wake_reads` can end it early (a stopping
        worker; a sharded store blocks on a read per node and ends the others once one
        brings entries: what they took meanwhile is returned as usual). The three
        commands go out in one send, framed once per kind of read (:func:`_read_frame`):
        an idle worker makes the same read after every task, and framing it each time
        (redis-py's ``pack_commands``: 20 µs here) or a pipeline object cost it more
        than the read."""
        first = streams[0]
        frame = _read_frame(consumer, streams, count, block_ms, self.keys.PAUSED_QUEUES)
        within = block_ms / 1000 + 5.0
        async with raw_link.taken(self.redis) as raw:
            if raw is not None:
                named, read, paused = raw.send(frame, 3)
                blocked = (first, int(await raw.reply(named)))
                self._blocked.add(blocked)
                try:
                    got = await raw.reply(read, within)
                finally:
                    self._blocked.discard(blocked)
                paused_now = await raw.reply(paused)
        if raw is None:  # a cluster client
            async with links.dedicated(self.redis, first) as link:
                await link.send_packed_command(frame, check_health=False)
                blocked = (first, int(await link.read_response()))
                self._blocked.add(blocked)
                try:
                    got = await link.read_response(timeout=within)
                finally:
                    self._blocked.discard(blocked)
                paused_now = await link.read_response()
        return [
            (stream, [(entry_id, _fields(flat) if flat else None) for entry_id, flat in batch])
            for stream, batch in (got.items() if isinstance(got, dict) else got or [])
        ], paused_now

    async def wake_reads(self) -> int:
        """End this store's blocking reads now (``CLIENT UNBLOCK`` of each connection
        noted while it blocks: each read returns what it has, nothing if it has
        nothing); how many there were. A worker stopping ends its read this way, and a
        sharded store the reads on other nodes once one brings entries."""
        woken = list(self._blocked)
        for key, client_id in woken:
            if isinstance(self.redis, RedisCluster):
                node = self.redis.get_node_from_key(key)
                await self.redis.execute_command("CLIENT", "UNBLOCK", client_id, target_nodes=node)
            else:
                await self.redis.client_unblock(client_id)
        return len(woken)

    async def _idle(self, block_ms: int) -> None:
        """Every queue paused: wait as a blocking read would (without one)."""
        await asyncio.sleep(block_ms / 1000)

    async def _give_back(self, queue: str, batch: Sequence[Entry]) -> None:
        """Entries taken from a queue paused meanwhile: queued again, released."""
        stream = self.keys.stream(queue)
        async with self.redis.pipeline(transaction=True) as pipe:
            for _, fields in batch:
                if fields:
                    pipe.xadd(stream, fields)
            pipe.xack(stream, keys.WORKER_GROUP, *(entry_id for entry_id, _ in batch))
            await pipe.execute()


def _fields(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


@lru_cache(maxsize=64)
def _read_frame(
    consumer: str, streams: tuple[str, ...], count: int, block_ms: int, paused: str
) -> bytes:
    """The wire bytes of a worker's blocking read (see ``Queues._read_wakeable``):
    ``CLIENT ID``, ``XREADGROUP`` of new entries of ``streams``, ``SMEMBERS`` of the
    paused set ``paused``."""
    read = ["XREADGROUP", "GROUP", keys.WORKER_GROUP, consumer, "COUNT", count, "BLOCK"]
    return (
        command(["CLIENT", "ID"])
        + command([*read, block_ms, "STREAMS", *streams, *[">"] * len(streams)])
        + command(["SMEMBERS", paused])
    )
