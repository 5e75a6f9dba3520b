"""The gateway to Redis: every stream, group, consumer, key and channel operation.

No other module issues a Redis command; the Lua scripts it runs are in
:mod:`backend.scripts`. :class:`TaskStore` wraps one asyncio client for commands
(and optionally a second, with no socket timeout, for subscriptions). Its parts,
one concept each:

- :mod:`~backend.store.submits`   queueing tasks (ids checked, pipelined batches, routed
  to their queue's stream, or its schedule when delayed)
- :mod:`~backend.store.queue`     the task streams and worker group: read,
  claim, keep, hand back, retries, the task index
- :mod:`~backend.store.consumers` the group's consumers and the stream's depth
- :mod:`~backend.store.queues`    named queues: strict-priority reads, pause
  (entry ids of queues other than ``default`` name their queue: :mod:`~backend.store.ids`)
- :mod:`~backend.store.queue_figures`  each named queue's figures: depth, lag, the
  oldest waiting entry's age, consumers, scheduled, paused
- :mod:`~backend.store.states`    task states, counters and cancel requests
- :mod:`~backend.store.workers`   worker heartbeats and records
- :mod:`~backend.store.upkeep`    trimming the stream, removing consumers that are gone
- :mod:`~backend.store.channels`  confirmed pub/sub subscriptions
- :mod:`~backend.store.query`     filtered listings over the indexes, bulk actions
  (:mod:`~backend.store.query_call` builds the QUERY script's call for a filter)
- :mod:`~backend.store.board`     the live board's bounded reads: its cards and the counts
- :mod:`~backend.store.deadletters`  dead letters written, paged, requeued, deleted
- :mod:`~backend.store.pending`   who holds which pending entry; move or release one
- :mod:`~backend.store.history`   the per-minute counts and latencies, as series
- :mod:`~backend.store.backlog`   the index and history upkeep a submit or write of a few
  tasks leaves for later, settled before anything reads them
- :mod:`~backend.store.alerting`  the server's memory and the newest dead letters
- :mod:`~backend.store.schedules` periodic-task schedules and their ticks
- :mod:`~backend.store.sharded`   in a cluster, one logical queue over N shards: a facade
  over a store per shard (:mod:`~backend.store.shardset` routes,
  :mod:`~backend.store.sharded_reads` merges, :mod:`~backend.store.shard_reader` reads
  for a worker); what :meth:`TaskStore.from_settings` returns there

Writes that come in numbers (submits, status updates) go out as one Lua script per
batch, so their cost is one round trip per batch, not per task. Key names come from
:mod:`backend.keys`; messages are encoded by :mod:`backend.protocol` and
:mod:`backend.state`.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from backend import connection, keys, scripts
from backend.config import DEFAULT_RETENTION, Settings
from backend.store.alerting import AlertReads
from backend.store.board import BoardCounts, BoardSnapshot
from backend.store.channels import Channels, Subscription, subscribe
from backend.store.deadletters import (
    DEAD_LETTER_DATA_MAX,
    DEAD_LETTER_MAXLEN,
    DeadLetter,
    DeadLetters,
)
from backend.store.history import Minutes
from backend.store.ids import Entry, unqualify
from backend.store.pending import Ownership, PendingEntry
from backend.store.query import BulkProgress, Page, Query
from backend.store.queue import SUBMIT_BATCH, SUBMIT_SOURCE, Pending, keep_sync
from backend.store.queue_figures import QueueFigures, QueueInfo
from backend.store.queues import Queues
from backend.store.schedules import Schedules
from backend.store.submits import Submitted
from backend.store.templates import NewTask
from backend.store.upkeep import Upkeep
from backend.store.workers import WORKER_FORGET_AFTER, Workers

__all__ = [
    "DEAD_LETTER_DATA_MAX",
    "DEAD_LETTER_MAXLEN",
    "SUBMIT_BATCH",
    "SUBMIT_SOURCE",
    "WORKER_FORGET_AFTER",
    "BoardCounts",
    "BoardSnapshot",
    "BulkProgress",
    "DeadLetter",
    "Entry",
    "NewTask",
    "Page",
    "Pending",
    "PendingEntry",
    "QueueInfo",
    "Submitted",
    "Subscription",
    "TaskStore",
    "keep_sync",
    "subscribe",
    "unqualify",
]


class TaskStore(
    Queues,
    QueueFigures,
    Query,
    DeadLetters,
    Ownership,
    Workers,
    Upkeep,
    Channels,
    Minutes,
    AlertReads,
    Schedules,
):
    """The queue and the state store over one Redis client (a ``RedisCluster`` for a
    cluster: then every key is named by the cluster layout, :func:`backend.keys.cluster`).

    ``listener``: the client subscriptions use (one with no socket timeout, so a quiet
    channel is not mistaken for a lost connection); ``redis`` when not given.
    ``classic_updates``: in a cluster, whether status updates also go out on
    ``task_updates`` (the ``DISTRITASK_CLASSIC_UPDATES`` setting). ``replicas``: how
    many replicas each submit waits for, at most ``replicas_timeout`` seconds
    (``DISTRITASK_SUBMIT_REPLICAS``; :meth:`from_settings` sets all of these).
    ``shard``: the hash tag of the one shard of a sharded queue this store is
    (:class:`ShardedStore` makes those; its entry ids name the shard).
    """

    @classmethod
    def from_settings(
        cls, redis: aioredis.Redis, settings: Settings, *, listener: aioredis.Redis | None = None
    ) -> TaskStore:
        """The store the settings ask for, over ``redis``: in a cluster, one logical
        queue over the shards the cluster stores (:class:`ShardedStore`; their count,
        ``DISTRITASK_SHARDS``, is fixed when the queue is created)."""
        options: dict[str, Any] = {
            "retention": settings.retention,
            "listener": listener,
            "classic_updates": settings.classic_updates,
            "replicas": settings.submit_replicas,
            "replicas_timeout": settings.submit_replicas_timeout,
        }
        if connection.layout(redis).cluster:
            from backend.store.sharded import ShardedStore

            return ShardedStore(redis, wanted=settings.shards, **options)
        return cls(redis, **options)

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        retention: int = DEFAULT_RETENTION,
        listener: aioredis.Redis | None = None,
        classic_updates: bool = True,
        replicas: int = 0,
        replicas_timeout: float = 1.0,
        shard: str | None = None,
    ) -> None:
        self.redis = redis
        self.replicas, self.replicas_timeout = replicas, replicas_timeout
        self.listener = listener if listener is not None else redis
        self.retention = retention
        self.shard = shard
        self._blocked = set()
        self.keys = (
            connection.layout(redis, classic_updates=classic_updates)
            if shard is None
            else keys.cluster(shard, classic_updates=classic_updates)
        )
        self.known_queues: set[str] = set()
        texts = scripts.render(self.keys)
        self.scripts = texts
        self._promote = redis.register_script(texts.PROMOTE_RETRIES)
        self._write = redis.register_script(texts.WRITE)
        self._submit = redis.register_script(texts.SUBMIT)
        self._record = redis.register_script(texts.RECORD)
        self._forget = redis.register_script(texts.FORGET)
        self._query = redis.register_script(texts.QUERY)
        self._release = redis.register_script(texts.RELEASE)
        self._request_cancel = redis.register_script(texts.REQUEST_CANCEL)
        self._forget_consumer = redis.register_script(texts.FORGET_CONSUMER)
        self._read_first = redis.register_script(texts.READ_FIRST)
        self._settle = redis.register_script(texts.SETTLE)
        self._settling = None

    async def ping(self) -> None:
        """Raise unless the broker answers."""
        await self.redis.ping()

    async def parts(self) -> list[TaskStore]:
        """The stores that each hold some of the tasks: this one (a sharded store's
        shards, :class:`ShardedStore`). A worker reclaims per part."""
        return [self]
