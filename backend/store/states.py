"""Task states, counters and cancel requests.

Outcomes are written by one script per batch (:data:`backend.scripts.WRITE`): it
publishes the updates, stores the states, adds to the counters, then acknowledges
the entries, so an entry is never acknowledged before its outcome is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

from redis.commands.core import AsyncScript

from backend import keys, messages
from backend.errors import ProtocolError
from backend.protocol import DEFAULT_QUEUE, StatusUpdate, TaskStatus, encode_update, make_update
from backend.scripts.upkeep import SETTLE_CHUNK, SETTLE_SOON
from backend.state import TaskState, decode_state, encode_state
from backend.store import calls
from backend.store.backlog import Backlog
from backend.store.base import decoded, log, text
from backend.store.ids import split
from backend.store.queue import SUBMIT_SOURCE

RECORD_TRIES = 5
"""Reads of a state :meth:`States.record_seen` makes while others keep changing it."""


def _decoded_or_none(raw: bytes) -> TaskState | None:
    try:
        return decode_state(raw)
    except ProtocolError as exc:
        log.warning("replacing a recorded state that does not parse: %s", exc)
        return None


class States(Backlog):
    """Reading and writing task states; asking for cancels."""

    _write: AsyncScript
    _record: AsyncScript
    _request_cancel: AsyncScript

    async def record(
        self,
        changes: Iterable[tuple[TaskState, StatusUpdate]],
        *,
        ack: Sequence[bytes | str] = (),
    ) -> None:
        """Store each task's new state and publish its update, in one round trip.

        ``ack``: stream entry ids whose outcome this records; they are acknowledged
        by the same script, after the states are written (at-least-once).
        """
        latest: dict[str, TaskState] = {}
        updates: list[str] = []
        for state, update in changes:
            latest[state.id] = state
            updates.append(encode_update(update))
        encoded = {task_id: encode_state(state) for task_id, state in latest.items()}
        await self.write(updates, encoded, {}, ack=ack)

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
        (task id -> JSON of its state) unless a newer one is stored, counts each
        outcome once (completed, failed, cancelled, retried), adds ``counts`` to the
        counters, then acknowledges ``ack`` and drops the cancel requests
        ``forget_cancels``. A task with no state yet is indexed (see ``scripts.WRITE``).
        The indexing of a few states is left for later and settled soon
        (:mod:`backend.store.backlog`).
        """
        if not (updates or states or ack or forget_cancels):
            return
        # Acks go to their queues' streams: the first queue's in the script, after the
        # states; any other queue's by XACKs pipelined after it (still after the states).
        by_queue = list(split(ack).items())
        queue, ack = by_queue[0] if by_queue else (DEFAULT_QUEUE, [])
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
        script_keys = [
            self.keys.TASK_STATES,
            self.keys.COUNTERS,
            self.keys.stream(queue),
            self.keys.CANCELLED,
            self.keys.TASK_INDEX,
        ]
        if len(by_queue) < 2:
            backlog = await calls.call(self.redis, self._write, script_keys, args)
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._write(keys=script_keys, args=args, client=pipe)
                for other, ids in by_queue[1:]:
                    pipe.xack(self.keys.stream(other), keys.WORKER_GROUP, *ids)
                backlog, *_ = await pipe.execute()
        self.settle_soon(int(backlog), at=SETTLE_SOON, most=SETTLE_CHUNK)

    async def record_seen(self, update: StatusUpdate) -> TaskState | None:
        """Record an update that no writer of ours recorded (a Go service's: see
        :mod:`backend.recorder`): apply it to the stored state by the one rule, or
        store a new state (indexed, counted as submitted); note the worker it names
        (as one with no heartbeat). Idempotent, and safe with several recorders: the
        state is stored only if unchanged since it was read. The state as stored, or
        ``None`` when the update is older than it (nothing to store).
        """
        worker = "" if update.worker in ("", SUBMIT_SOURCE) else update.worker
        for _ in range(RECORD_TRIES):
            raw = await self.redis.hget(self.keys.TASK_STATES, update.id)
            state = None if raw is None else _decoded_or_none(raw)
            counts: list[str] = []
            if state is None:
                state = TaskState.from_update(update)
                counts.append("submitted")
                before = None
            else:
                before = (state.status, state.worker, state.message)
                if not state.apply(update):
                    return None
                if before == (state.status, state.worker, state.message):
                    return state  # a duplicate: already recorded
            if state.status.terminal and (before is None or not before[0].terminal):
                counts.append(state.status.value)
            now = time.time()
            stored = await self._record(
                keys=[
                    self.keys.TASK_STATES,
                    self.keys.TASK_INDEX,
                    self.keys.COUNTERS,
                    self.keys.SEEN_WORKERS,
                ],
                args=[
                    update.id,
                    raw or "",
                    encode_state(state),
                    state.created or now,
                    worker,
                    now,
                    *counts,
                ],
            )
            if stored:
                return state
        log.warning("task %s: its state keeps changing; not recording an update", update.id)
        return None

    async def get(self, task_id: str) -> TaskState | None:
        raw = await self.redis.hget(self.keys.TASK_STATES, task_id)
        return None if raw is None else decode_state(raw)

    async def get_many(self, task_ids: Sequence[str]) -> list[TaskState]:
        """The recorded states of ``task_ids``, in that order; unknown ids are left out."""
        if not task_ids:
            return []
        raws = await self.redis.hmget(self.keys.TASK_STATES, list(task_ids))
        return decoded([raw for raw in raws if raw is not None], decode_state, "state")

    async def known(self, task_ids: Sequence[str]) -> list[bool]:
        """For each of ``task_ids``: whether a state of it is retained (one ``ZMSCORE``
        on the task index, whatever the number of ids)."""
        if not task_ids:
            return []
        scores = await self.redis.zmscore(self.keys.TASK_INDEX, list(task_ids))
        return [score is not None for score in scores]

    async def snapshot(
        self, batch: int = 5000, *, decode: Callable[[bytes], TaskState] = decode_state
    ) -> AsyncIterator[list[TaskState]]:
        """Every recorded task state, in batches (HSCAN: Redis is never blocked long).

        ``decode`` turns one record into a state (it raises ``ProtocolError`` on a bad
        one, which is skipped); a viewer may pass a lighter one that reads fewer fields.
        """
        cursor = 0
        while True:
            cursor, chunk = await self.redis.hscan(self.keys.TASK_STATES, cursor, count=batch)
            states = decoded(chunk.values(), decode, "state")
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
        raw = await self.redis.hgetall(self.keys.COUNTERS)
        return {text(k): int(v) for k, v in raw.items()}

    # -- cancel ----------------------------------------------------------------------

    async def request_cancel(self, task_id: str) -> TaskState | None:
        """Ask for ``task_id`` to be cancelled; a pending one is marked cancelled at once.

        Workers skip a cancelled task when they reach it and interrupt it if running.
        Returns the task's state as it now is, or ``None`` for an unknown task.
        """
        raw = await self._request_cancel(
            keys=[self.keys.TASK_STATES, self.keys.CANCELLED],
            args=[task_id, time.time(), json.dumps({"cancel": task_id})],
        )
        if raw is None:
            return None
        state = decode_state(raw)
        if state.status.terminal:
            return state
        if state.status is TaskStatus.PENDING:
            update = make_update(
                task_id,
                TaskStatus.CANCELLED,
                worker=state.worker,
                message=messages.CANCELLED_QUEUED,
                attempt=state.attempt,
                seq=state.seq + 1,
                name=state.name,
            )
            state.apply(update)
            await self.record([(state, update)])
        return state

    async def is_cancelled(self, task_id: str) -> bool:
        return bool(await self.redis.hexists(self.keys.CANCELLED, task_id))

    async def cancel_requests(self) -> set[str]:
        """The ids of every task with a cancel request on record."""
        return {text(k) for k in await self.redis.hkeys(self.keys.CANCELLED)}

    async def cancels_and_states(
        self, task_ids: Sequence[str]
    ) -> tuple[list[bytes | None], list[bytes | None]]:
        """For each of ``task_ids``: its cancel request and its stored state (raw, or
        ``None``), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.CANCELLED, list(task_ids))
            pipe.hmget(self.keys.TASK_STATES, list(task_ids))
            cancelled, stored = await pipe.execute()
        return cancelled, stored
