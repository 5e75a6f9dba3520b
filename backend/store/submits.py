"""Submitting: tasks recorded pending, added to their queue's stream (a delayed one to
its queue's schedule) and announced, one script per :data:`SUBMIT_BATCH` tasks of one
queue, each batch done whole or not at all (:data:`backend.scripts.SUBMIT`).

**Delays.** A task whose ``due`` is in the future waits in its queue's schedule (the
sorted set the retries use, moved by :mod:`backend.promoter`) and is announced as
``pending`` with the message "Scheduled for HH:MM:SS" and the extras ``due`` and
``scheduled``; one already due is queued at once.

**Ids.** A task whose id the caller chose is queued once: the script (atomically, so
two submitters cannot both queue it) leaves alone an id whose task is still
unfinished (a *duplicate*: nothing new is queued) and refuses one whose task has
finished (:class:`~backend.errors.TaskExists`) unless ``replace``. Fresh ids are not
checked.

**Two ways in.** :meth:`Submits.enqueue` takes :class:`~backend.protocol.Task` models
and answers with the pending states (the manager shows them at once);
:meth:`Submits.enqueue_new` takes plain :class:`NewTask` values and encodes them
without building any model, which is what makes ``Client.submit_many`` of 100,000
tasks quick. Both encode through the same functions (the pending state and update of
:func:`backend.transition.queued`, the task of :func:`backend.protocol.new_task_json`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend import keys, links
from backend.errors import NotReplicated, TaskExists
from backend.protocol import DEFAULT_QUEUE, StatusUpdate, Task, encode_task, encode_update
from backend.scripts.upkeep import SETTLE_SUBMITTED
from backend.state import TaskState, encode_state, queued, requeued, scheduled_for
from backend.store import calls
from backend.store.backlog import Backlog
from backend.store.base import text
from backend.store.framing import command, submit_args
from backend.store.queue import SUBMIT_BATCH, SUBMIT_SOURCE, Queue
from backend.store.templates import Encoder, NewTask

IN_FLIGHT = 2
"""Submit scripts sent ahead of their replies when pipelining (see ``_stream``)."""
Encoded = tuple[list[str], list[bytes], list[float], list[bytes], list[bytes], list[str]]
"""A batch as the submit script takes it: ids, states, scores, tasks, updates, names."""


@dataclass(slots=True)
class Submitted:
    """What a submit did: the pending states it queued (from :meth:`Submits.enqueue`
    only), and the ids it left alone because those tasks were already queued and
    unfinished."""

    states: list[TaskState]
    duplicates: list[str]


class Submits(Queue, Backlog):
    """Queueing new tasks (and finished ones again)."""

    @functools.cached_property
    def _encoders(self) -> dict[str, Encoder]:
        """An encoder per submitter, kept: a kind's template serves later submits too
        (a ``submit`` of one task then fills a template instead of encoding)."""
        return {}

    async def submit(
        self, tasks: Sequence[Task], *, source: str = SUBMIT_SOURCE, replace: bool = False
    ) -> list[TaskState]:
        """Queue ``tasks``; the pending states of those queued (see :meth:`enqueue`)."""
        return (await self.enqueue(tasks, source=source, replace=replace)).states

    async def enqueue(
        self, tasks: Sequence[Task], *, source: str = SUBMIT_SOURCE, replace: bool = False
    ) -> Submitted:
        """Queue ``tasks`` (their ids checked where the caller set ``id``); the pending
        states of those queued, in order, and the duplicates. :class:`TaskExists` for
        the id of a finished task unless ``replace`` (then that batch queues nothing)."""
        now = time.time()
        ready: list[Task] = []
        pending: list[tuple[TaskState, StatusUpdate]] = []
        for task in tasks:
            if task.due is not None and task.due > now:
                state, update = queued(task, by=source, message=scheduled_for(task.due))
                update.due, update.scheduled = task.due, True
                pending.append((state, update))
            else:
                if task.due is not None:  # due already: queued now
                    task = task.model_copy(update={"due": None})
                pending.append(queued(task, by=source))
            ready.append(task)
        groups: dict[tuple[str, bool], list[int]] = {}
        for index, task in enumerate(ready):
            groups.setdefault((task.queue, task.due is not None), []).append(index)
        await self.note_queues({queue for queue, _ in groups})
        codes = ["q"] * len(ready)
        for (queue, delayed), members in groups.items():
            for first in range(0, len(members), SUBMIT_BATCH):
                chosen = members[first : first + SUBMIT_BATCH]
                batch = [ready[i] for i in chosen]
                pairs = [pending[i] for i in chosen]
                replies = await self._batch(
                    [task.id for task in batch],
                    [encode_state(state) for state, _ in pairs],
                    [
                        state.created or task.created_ts
                        for task, (state, _) in zip(batch, pairs, strict=True)
                    ],
                    [encode_task(task) for task in batch],
                    [encode_update(update) for _, update in pairs],
                    [task.name for task in batch],
                    _mode(replace, any("id" in task.model_fields_set for task in batch)),
                    queue=queue,
                    source=source,
                    dues=[task.due or now for task in batch] if delayed else (),
                )
                for index, code in zip(chosen, replies, strict=False):
                    codes[index] = code
        if any(delayed for _, delayed in groups):
            await self.wake_promoters()
        done = Submitted([], [])
        for (state, _), code in zip(pending, codes, strict=True):
            if code == "d":
                done.duplicates.append(state.id)
            else:
                done.states.append(state)
        return done

    async def enqueue_new(
        self, tasks: Sequence[NewTask], *, source: str = SUBMIT_SOURCE, replace: bool = False
    ) -> Submitted:
        """:meth:`enqueue` for plain values, without models (its ``states`` stay empty).

        Fresh ids cannot be refused, so several batches of them are pipelined: the
        next is encoded while the server runs the one before (:meth:`_stream`)."""
        done = Submitted([], [])
        chunks = [
            tasks[first : first + SUBMIT_BATCH] for first in range(0, len(tasks), SUBMIT_BATCH)
        ]
        encoder = self._encoders.get(source) or self._encoders.setdefault(source, Encoder(source))
        if len(chunks) > 1 and not replace and not any(task.own_id for task in tasks):
            framed = ((len(batch), submit_args(encoder, batch)) for batch in chunks)
            await self._stream(framed, source)
            return done
        for batch in chunks:
            own = any(task.own_id for task in batch)
            codes = await self._batch(*_encoded(batch, encoder), _mode(replace, own), source=source)
            done.duplicates += [
                t.task_id for t, code in zip(batch, codes, strict=False) if code == "d"
            ]
        return done

    async def _stream(self, batches: Iterable[tuple[int, list[bytes]]], source: str) -> None:
        """Submit scripts for fresh ids, sent on one connection without waiting for
        each reply: up to :data:`IN_FLIGHT` are sent ahead, in order. ``batches``:
        how many tasks, and their arguments as :func:`submit_args` frames them."""
        submit_keys = self._submit_keys(self.keys.TASK_STREAM)
        await self.redis.script_load(self.scripts.SUBMIT)  # so EVALSHA finds it
        indexed = sent = 0
        async with links.dedicated(self.redis, submit_keys[0]) as link:
            for count, args in batches:
                head = ["EVALSHA", self._submit.sha, len(submit_keys), *submit_keys, count]
                head += [keys.TASK_FIELD, DEFAULT_QUEUE, source]
                words = len(head) + 6 * count + 1
                packed = b"".join([command(head, words), *args, b"$0\r\n\r\n"])  # no id check
                await link.send_packed_command(packed, check_health=False)
                sent += 1
                if sent >= IN_FLIGHT:
                    indexed = int((await link.read_response())[0])
                    sent -= 1
            while sent:
                indexed = int((await link.read_response())[0])
                sent -= 1
            if self.replicas:  # every batch above went on this connection: one WAIT
                await link.send_packed_command(self._wait(), check_health=False)
                self._check_replicas(await link.read_response(timeout=self._wait_within()))
        if indexed > self.retention * 1.1:
            await self.trim()

    def _submit_keys(self, target: str) -> list[str]:
        """The keys of :data:`backend.scripts.SUBMIT`, in its order, for tasks going to
        ``target`` (a queue's stream, or its schedule)."""
        k = self.keys
        return [k.TASK_STATES, k.TASK_INDEX, target, k.COUNTERS, k.CANCELLED]

    async def requeue(self, state: TaskState) -> TaskState:
        """Queue a finished task again as a new attempt (the manager's and panel's Retry).

        The state carries on: its creation time and timeline stay, the new attempt's
        rows follow the old ones (see :func:`backend.state.requeued`).
        """
        created = datetime.fromtimestamp(state.created, UTC) if state.created else None
        task = Task(
            id=state.id,
            name=state.name,
            payload=state.payload,
            max_retries=state.max_retries or 0,
            # At least 2, even for a Go task recorded at 0: a worker resumes the
            # stored state (and its timeline) only for attempts after the first.
            attempt=max(state.attempt, 1) + 1,
            queue=state.queue,
            **({"created_at": created} if created else {}),
        )
        again, update = requeued(state, task)
        await self.redis.hdel(self.keys.CANCELLED, state.id)
        await self._batch(
            [task.id],
            [encode_state(again)],
            [again.created or task.created_ts],
            [encode_task(task)],
            [encode_update(update)],
            [task.name],
            "again",  # queued whatever the state: the callers decided it may run again
            queue=task.queue,
        )
        return again

    async def _replicated(self, keys: list[str], args: list[Any]) -> Any:
        """The submit script's reply; with :attr:`replicas` set, once that many replicas
        have its writes (``WAIT`` on the connection that sent the script, to the node
        that holds its keys: ``NotReplicated`` if fewer do within
        :attr:`replicas_timeout`; the tasks are queued either way)."""
        if not self.replicas:
            return await calls.call(self.redis, self._submit, keys, args)
        reply, replicas = await calls.call_then(
            self.redis, self._submit, keys, args, self._wait(), self._wait_within()
        )
        self._check_replicas(replicas)
        return reply

    def _wait(self) -> bytes:
        """``WAIT`` for :attr:`replicas` within :attr:`replicas_timeout`, as RESP."""
        return command(["WAIT", self.replicas, round(self.replicas_timeout * 1000)])

    def _wait_within(self) -> float:
        """Seconds to read ``WAIT``'s reply in: its timeout, and the usual 5 s on top."""
        return self.replicas_timeout + 5.0

    def _check_replicas(self, replicas: Any) -> None:
        if int(replicas) < self.replicas:
            raise NotReplicated(int(replicas), self.replicas, self.replicas_timeout)

    async def _batch(
        self,
        ids: list[str],
        states: Sequence[bytes | str],
        scores: Sequence[float],
        tasks: Sequence[bytes | str],
        updates: Sequence[bytes | str],
        names: Sequence[str],
        mode: str,
        *,
        queue: str = DEFAULT_QUEUE,
        source: str = SUBMIT_SOURCE,
        dues: Sequence[float] = (),
    ) -> str:
        """One submit script for tasks of ``queue`` (with ``dues``: delayed, into its
        schedule); the per-task codes (``""`` when ids were not checked)."""
        target = self.keys.due(queue) if dues else self.keys.stream(queue)
        reply = await self._replicated(
            keys=self._submit_keys(target),
            args=[
                len(ids),
                keys.TASK_FIELD,
                queue,
                source,
                *ids,
                *states,
                *scores,
                *tasks,
                *updates,
                *names,
                mode,
                *dues,
            ],
        )
        indexed, codes = int(reply[0]), text(reply[1])
        self.settle_soon(int(reply[2]), at=SETTLE_SUBMITTED)
        finished = [task_id for task_id, code in zip(ids, codes, strict=False) if code == "f"]
        if finished:
            raise TaskExists(finished[0], len(finished) - 1)
        if indexed > self.retention * 1.1:
            await self.trim()
        return codes


def _encoded(batch: Sequence[NewTask], encoder: Encoder) -> Encoded:
    """A batch's ids, pending states, scores, tasks and pending updates (JSON), names."""
    states, updates, queued = encoder.encode_many(batch)
    ids = [t.task_id for t in batch]
    return ids, states, [t.created for t in batch], queued, updates, [t.name for t in batch]


def _mode(replace: bool, own_ids: bool) -> str:
    """The submit script's id check: none for fresh ids, else check or replace."""
    if replace:
        return "replace"
    return "check" if own_ids else ""
