"""The queue and the state store: everything the parts do to Redis goes through here.

:class:`TaskStore` wraps one asyncio client. Writes that come in numbers (submits,
status updates) take a batch and go out as one pipeline, so their cost is one round
trip per batch, not per task. Key names come from :mod:`backend.keys`; messages are
encoded by :mod:`backend.protocol` and :mod:`backend.state`.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from backend import keys, scripts
from backend.errors import ProtocolError
from backend.protocol import (
    StatusUpdate,
    Task,
    TaskStatus,
    WorkerInfo,
    decode_worker,
    encode_task,
    encode_update,
    encode_worker,
    make_update,
)
from backend.state import TaskState, decode_state, encode_state

log = logging.getLogger(__name__)
T = TypeVar("T")

DEAD_LETTER_MAXLEN = 100_000
WORKER_FORGET_AFTER = 3600.0
"""Seconds an offline worker stays listed before it is forgotten."""
SUBMIT_SOURCE = "manager"
"""The ``worker`` a pending update names, as the Go manager's does."""

SUBMIT_BATCH = 1000
"""Tasks per submit command (a script: the server is busy ~1 ms per thousand)."""


def _decoded(raws: Iterable[Any], decode: Callable[[Any], T], what: str) -> list[T]:
    """Each record decoded; one that does not parse is logged and skipped."""
    decoded = []
    for raw in raws:
        try:
            decoded.append(decode(raw))
        except ProtocolError as exc:
            log.warning("skipping a recorded %s: %s", what, exc)
    return decoded


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class TaskStore:
    """The queue and the state store over one Redis client."""

    def __init__(self, redis: aioredis.Redis, *, retention: int = 100_000) -> None:
        self.redis = redis
        self.retention = retention
        self._promote = redis.register_script(scripts.PROMOTE_RETRIES)
        self._write = redis.register_script(scripts.WRITE)
        self._submit = redis.register_script(scripts.SUBMIT)

    # -- the queue -------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create the stream and the worker group if missing (from the stream's start)."""
        try:
            await self.redis.xgroup_create(
                keys.TASK_STREAM, keys.WORKER_GROUP, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def submit(
        self, tasks: Sequence[Task], *, source: str = SUBMIT_SOURCE
    ) -> list[TaskState]:
        """Queue ``tasks``: record them pending, add them to the stream, announce them.

        One command per :data:`SUBMIT_BATCH` tasks, each done whole or not at all.
        """
        states: list[TaskState] = []
        indexed = 0
        for first in range(0, len(tasks), SUBMIT_BATCH):
            batch = tasks[first : first + SUBMIT_BATCH]
            ids: list[str] = []
            encoded: list[str] = []
            scores: list[float] = []
            queued: list[str] = []
            updates: list[str] = []
            for task in batch:
                state = TaskState.from_task(task)
                update = make_update(
                    task.id,
                    TaskStatus.PENDING,
                    worker=source,
                    message="Task queued",
                    attempt=task.attempt,
                    name=task.name,
                    progress=0,
                )
                state.apply(update)
                states.append(state)
                ids.append(task.id)
                encoded.append(encode_state(state))
                scores.append(task.created_ts)
                queued.append(encode_task(task))
                updates.append(encode_update(update))
            indexed = await self._submit(
                keys=[
                    keys.TASK_STATES,
                    keys.TASK_INDEX,
                    keys.TASK_STREAM,
                    keys.UPDATES_CHANNEL,
                    keys.COUNTERS,
                ],
                args=[len(batch), keys.TASK_FIELD, *ids, *encoded, *scores, *queued, *updates],
            )
        if indexed > self.retention * 1.1:
            await self.trim()
        return states

    async def requeue(self, state: TaskState) -> TaskState:
        """Queue a finished task again as a new attempt (the manager's and panel's Retry)."""
        task = Task(
            id=state.id,
            name=state.name,
            payload=state.payload,
            max_retries=state.max_retries or 0,
            attempt=max(state.attempt, 0) + 1,
        )
        await self.redis.hdel(keys.CANCELLED, state.id)
        [queued] = await self.submit([task])
        return queued

    async def schedule_retry(self, task: Task, due: float) -> None:
        """Put ``task`` back on the queue at epoch time ``due``."""
        await self.redis.zadd(keys.RETRY_SCHEDULE, {encode_task(task): due})

    async def promote_due_retries(self, limit: int = 500) -> int:
        """Move retries that are due onto the stream; how many moved (atomic, any worker)."""
        moved = await self._promote(
            keys=[keys.RETRY_SCHEDULE, keys.TASK_STREAM], args=[time.time(), limit, keys.TASK_FIELD]
        )
        return int(moved)

    async def dead_letter(self, task_id: str, raw: bytes | str, error: str, worker: str) -> None:
        await self.redis.xadd(
            keys.DEAD_LETTERS,
            {
                "id": task_id,
                keys.TASK_FIELD: raw,
                "error": error,
                "worker": worker,
                "ts": time.time(),
            },
            maxlen=DEAD_LETTER_MAXLEN,
            approximate=True,
        )

    async def dead_letters(self, count: int = 100) -> list[dict[str, str]]:
        """The newest dead letters, newest first."""
        entries = await self.redis.xrevrange(keys.DEAD_LETTERS, count=count)
        return [
            {_text(k): _text(v) for k, v in fields.items()} | {"entry": _text(entry_id)}
            for entry_id, fields in entries
        ]

    async def queue_depth(self) -> dict[str, int]:
        """Entries in the stream, not yet delivered (lag) and delivered but unacked."""
        depth = {"length": int(await self.redis.xlen(keys.TASK_STREAM)), "lag": 0, "pending": 0}
        try:
            groups = await self.redis.xinfo_groups(keys.TASK_STREAM)
        except ResponseError:
            return depth
        for group in groups:
            if _text(group.get("name", b"")) == keys.WORKER_GROUP:
                depth["lag"] = int(group.get("lag") or 0)
                depth["pending"] = int(group.get("pending") or 0)
        return depth

    # -- task state ------------------------------------------------------------------

    async def record(
        self,
        changes: Iterable[tuple[TaskState, StatusUpdate]],
        *,
        ack: Sequence[bytes | str] = (),
    ) -> None:
        """Store each task's new state and publish its update, in one round trip.

        ``ack``: stream entry ids whose outcome this records; they are acknowledged
        in the same pipeline, after the states are written (at-least-once).
        """
        latest: dict[str, TaskState] = {}
        updates: list[str] = []
        finished: Counter[str] = Counter()
        for state, update in changes:
            latest[state.id] = state
            updates.append(encode_update(update))
            if update.status.terminal:
                finished[update.status.value] += 1
            elif update.status is TaskStatus.RETRYING:
                finished["retried"] += 1
        encoded = {task_id: encode_state(state) for task_id, state in latest.items()}
        await self.write(updates, encoded, finished, ack=ack)

    async def write(
        self,
        updates: Sequence[bytes | str],
        states: Mapping[str, bytes | str],
        counts: Mapping[str, int],
        *,
        ack: Sequence[bytes | str] = (),
        forget_cancels: Sequence[str] = (),
    ) -> None:
        """:meth:`record` for callers that encode themselves, in one command (a script).

        Publishes ``updates`` (JSON of status updates, in order), stores ``states``
        (task id -> JSON of its state), adds ``counts`` to the counters, then
        acknowledges ``ack`` and drops the cancel requests ``forget_cancels``.
        """
        if not (updates or states or ack or forget_cancels):
            return
        args: list[Any] = [
            keys.WORKER_GROUP,
            len(updates),
            2 * len(states),
            2 * len(counts),
            len(ack),
            len(forget_cancels),
            *updates,
        ]
        for task_id, state in states.items():
            args += (task_id, state)
        for name, count in counts.items():
            args += (name, count)
        args += ack
        args += forget_cancels
        await self._write(
            keys=[
                keys.UPDATES_CHANNEL,
                keys.TASK_STATES,
                keys.COUNTERS,
                keys.TASK_STREAM,
                keys.CANCELLED,
            ],
            args=args,
        )

    async def get(self, task_id: str) -> TaskState | None:
        raw = await self.redis.hget(keys.TASK_STATES, task_id)
        return None if raw is None else decode_state(raw)

    async def get_many(self, task_ids: Sequence[str]) -> list[TaskState]:
        """The recorded states of ``task_ids``, in that order; unknown ids are left out."""
        if not task_ids:
            return []
        raws = await self.redis.hmget(keys.TASK_STATES, list(task_ids))
        return _decoded([raw for raw in raws if raw is not None], decode_state, "state")

    async def snapshot(
        self, batch: int = 5000, *, decode: Callable[[bytes], TaskState] = decode_state
    ) -> AsyncIterator[list[TaskState]]:
        """Every recorded task state, in batches (HSCAN: Redis is never blocked long).

        ``decode`` turns one record into a state (it raises ``ProtocolError`` on a bad
        one, which is skipped); a viewer may pass a lighter one that reads fewer fields.
        """
        cursor = 0
        while True:
            cursor, chunk = await self.redis.hscan(keys.TASK_STATES, cursor, count=batch)
            states = _decoded(chunk.values(), decode, "state")
            if states:
                yield states
            if cursor == 0:
                return

    async def load_all(self) -> dict[str, TaskState]:
        result: dict[str, TaskState] = {}
        async for states in self.snapshot():
            result.update((state.id, state) for state in states)
        return result

    async def counters(self) -> dict[str, int]:
        raw = await self.redis.hgetall(keys.COUNTERS)
        return {_text(k): int(v) for k, v in raw.items()}

    async def trim(self) -> int:
        """Forget the oldest task states beyond the retention; how many were dropped."""
        excess = int(await self.redis.zcard(keys.TASK_INDEX)) - self.retention
        if excess <= 0:
            return 0
        oldest = await self.redis.zrange(keys.TASK_INDEX, 0, excess - 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hdel(keys.TASK_STATES, *oldest)
            pipe.zrem(keys.TASK_INDEX, *oldest)
            await pipe.execute()
        return len(oldest)

    # -- cancel ----------------------------------------------------------------------

    async def request_cancel(self, task_id: str) -> TaskState | None:
        """Ask for ``task_id`` to be cancelled; a pending one is marked cancelled at once.

        Workers skip a cancelled task when they reach it and interrupt it if running.
        Returns the task's state as it now is, or ``None`` for an unknown task.
        """
        state = await self.get(task_id)
        if state is None or state.status.terminal:
            return state
        await self.redis.hset(keys.CANCELLED, task_id, time.time())
        await self.redis.publish(keys.CONTROL_CHANNEL, json.dumps({"cancel": task_id}))
        if state.status is TaskStatus.PENDING:
            update = make_update(
                task_id,
                TaskStatus.CANCELLED,
                worker=state.worker,
                message="Cancelled before it started",
                attempt=state.attempt,
                seq=state.seq + 1,
                name=state.name,
            )
            state.apply(update)
            await self.record([(state, update)])
        return state

    async def is_cancelled(self, task_id: str) -> bool:
        return bool(await self.redis.hexists(keys.CANCELLED, task_id))

    # -- workers ---------------------------------------------------------------------

    async def heartbeat(self, info: WorkerInfo, ttl: float) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.worker_alive(info.name), info.seen, px=int(ttl * 1000))
            pipe.hset(keys.WORKERS, info.name, encode_worker(info))
            await pipe.execute()

    async def worker_gone(self, name: str) -> None:
        """A worker that stops cleanly says so, so it shows offline at once."""
        await self.redis.delete(keys.worker_alive(name))

    async def workers(self) -> list[WorkerInfo]:
        """Every worker seen within the last hour, each marked online or not."""
        raw = await self.redis.hgetall(keys.WORKERS)
        infos = _decoded(raw.values(), decode_worker, "worker record")
        if not infos:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for info in infos:
                pipe.exists(keys.worker_alive(info.name))
            alive = await pipe.execute()
        now = time.time()
        stale = [
            i.name
            for i, up in zip(infos, alive, strict=True)
            if not up and now - i.seen > WORKER_FORGET_AFTER
        ]
        if stale:
            await self.redis.hdel(keys.WORKERS, *stale)
        for info, up in zip(infos, alive, strict=True):
            info.online = bool(up)
        return [i for i in infos if i.name not in stale]
