"""Waiting for tasks to finish: one subscription per client, fanned out to every
:meth:`~backend.client.Client.result` call.

The order that leaves no gap: the subscription to ``task_updates`` is confirmed
first, then the waiter is registered, then the task's state is read. A task that
finished before is seen in its state; one that finishes after is seen in its
update. Nothing polls: a waiter sleeps until its task's terminal update arrives.
A ``completed`` update carries the handler's result (see :mod:`backend.results`);
when it does not (a large result, or a Go worker's update) the state is read once.

Every update on the channel passes through here, so the task id is read from the
raw bytes (updates start with it) and only updates of awaited tasks are decoded.

**Tasks this client submits** while the subscription is up are *expected*
(:meth:`Waiters.expect`, called before the submit is sent): their outcome is kept as
its update arrives, so a :meth:`~Waiters.result` for one needs no read of the state
(one round trip less on the usual submit-then-wait path). The subscription's
continuity is what makes that safe: when it restarts, or may have missed updates,
the expectations are dropped and those calls read the state as any other. At most
:data:`EXPECTED_MAX` are kept (the oldest go first).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from itertools import islice
from typing import Any

from backend import keys
from backend.errors import ProtocolError, TaskCancelled, TaskFailed, TaskNotFound
from backend.outage import Outage, keep_running
from backend.protocol import TaskStatus, decode_update
from backend.state import TaskState
from backend.store import TaskStore

log = logging.getLogger("backend.client")

_PREFIX = b'{"id":"'
_STATUS = b',"status":"'
_UNFINISHED = frozenset(status.value.encode() for status in TaskStatus if not status.terminal)
EXPECTED_MAX = 10_000
"""Expected tasks (and their outcomes) a client keeps at most."""


class Outcome:
    """How a task ended: its result, or the error to raise."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value = value
        self.error = error

    @classmethod
    def of(cls, state: TaskState) -> Outcome:
        """The outcome a terminal ``state`` records."""
        if state.status is TaskStatus.COMPLETED:
            return cls(state.result)
        if state.status is TaskStatus.CANCELLED:
            return cls(error=TaskCancelled(state.id, state.message))
        return cls(error=TaskFailed(state.id, state.error or state.message))

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def unfinished(data: bytes, task_id: str) -> bool:
    """Whether a raw status update of ``task_id`` says, in its first bytes, that the task
    is not finished (``pending``, ``processing``, ``retrying``): nothing to decode.
    ``False`` when it does not say so there (then it is decoded)."""
    at = 7 + len(task_id.encode()) + 1  # past '{"id":"<id>"'
    if not data.startswith(_STATUS, at):
        return False
    at += len(_STATUS)
    return data[at : data.find(b'"', at)] in _UNFINISHED


def task_id_of(data: bytes) -> str | None:
    """The ``id`` of a raw status update (cheaply, from its first bytes), or ``None``."""
    if data.startswith(_PREFIX):
        end = data.find(b'"', 7)
        if end > 7 and b"\\" not in data[7:end]:
            return data[7:end].decode()
    try:
        value = json.loads(data).get("id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


class Waiters:
    """Tasks being waited for, and the one subscription that wakes them."""

    def __init__(self, store: TaskStore, where: str = "") -> None:
        self.store = store
        self._reads: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, list[asyncio.Future[Outcome]]] = {}
        self._expected: dict[str, Outcome | None] = {}
        """Tasks submitted while subscribed -> their outcome once seen (see expect)."""
        self._ready: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._outage = Outage(where, log)

    def expect(self, task_ids: Sequence[str]) -> None:
        """Note tasks about to be submitted (call it before sending them): while the
        subscription is up, their outcomes are kept as they arrive."""
        ready = self._ready
        if ready is None or not ready.done() or ready.exception() is not None:
            return  # not subscribed (yet): result() reads the state
        expected = self._expected
        for task_id in task_ids[-EXPECTED_MAX:]:
            expected[task_id] = None
        for task_id in list(islice(expected, max(0, len(expected) - EXPECTED_MAX))):
            del expected[task_id]

    async def result(self, task_id: str, timeout: float | None) -> Any:  # noqa: ASYNC109
        """The task's result once it has finished (raises as :class:`Outcome` says)."""
        await self._listening()
        known = task_id in self._expected
        seen = self._expected.pop(task_id, None)
        if seen is not None:
            return seen.unwrap()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.setdefault(task_id, [])
        waiting.append(future)
        try:
            if not known:  # it may have finished before: its state says
                state = await self.store.get(task_id)
                if state is None:
                    raise TaskNotFound(task_id)
                if state.status.terminal:
                    return Outcome.of(state).unwrap()
            async with asyncio.timeout(timeout):
                outcome = await future
            return outcome.unwrap()
        except TimeoutError:
            raise TimeoutError(f"task {task_id} did not finish within {timeout} s") from None
        finally:
            waiting.remove(future)
            if not waiting and self._waiting.get(task_id) is waiting:
                del self._waiting[task_id]

    async def aclose(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None

    async def _listening(self) -> None:
        """Start the subscription (once) and wait until the server confirmed it."""
        if self._ready is None or (self._runner is not None and self._runner.done()):
            self._ready = asyncio.get_running_loop().create_future()
            self._runner = asyncio.create_task(self._run(self._ready), name="result waiters")
        await asyncio.shield(self._ready)

    async def _run(self, ready: asyncio.Future[None]) -> None:
        first = True

        async def session() -> None:
            nonlocal first
            async with await self.store.subscribe(keys.UPDATES_CHANNEL) as subscription:
                if first:
                    first = False
                    ready.set_result(None)
                else:  # back after an outage: what finished meanwhile is in the states
                    self._expected.clear()
                    await self._sync()
                self._outage.ok()
                async for data in subscription.listen():
                    if data is None:
                        self._expected.clear()
                        await self._sync()
                    elif self._waiting or self._expected:
                        self._on_update(data)

        try:
            await keep_running(session, self._outage, name="waiting for task results")
        except BaseException as exc:
            error = exc if isinstance(exc, Exception) else asyncio.CancelledError()
            if not ready.done():
                ready.set_exception(error)
            for futures in self._waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            raise

    def _on_update(self, data: bytes) -> None:
        task_id = task_id_of(data)
        if task_id is None:
            return
        waited = task_id in self._waiting
        if (not waited and task_id not in self._expected) or unfinished(data, task_id):
            return
        try:
            update = decode_update(data)
        except ProtocolError as exc:
            log.warning("skipping an update: %s", exc)
            return
        status = update.status
        if not status.terminal:
            return
        if status is TaskStatus.COMPLETED and "result" not in update.model_fields_set:
            # large, or from a Go worker: the stored state has it
            if not waited:
                del self._expected[task_id]  # its result() reads the state
                return
            read = asyncio.create_task(self._read(task_id), name=f"result of {task_id}")
            self._reads.add(read)
            read.add_done_callback(self._reads.discard)
            return
        if status is TaskStatus.COMPLETED:
            outcome = Outcome(update.result)
        elif status is TaskStatus.CANCELLED:
            outcome = Outcome(error=TaskCancelled(task_id, update.message))
        else:
            outcome = Outcome(error=TaskFailed(task_id, update.error or update.message))
        if waited:
            self._resolve(task_id, outcome)
        else:
            self._expected[task_id] = outcome

    async def _read(self, task_id: str) -> None:
        state = await self.store.get(task_id)
        if state is not None and state.status.terminal:
            self._resolve(task_id, Outcome.of(state))

    async def _sync(self) -> None:
        """Updates may have been missed: settle every waiter whose task has finished."""
        ids = list(self._waiting)
        for state in await self.store.get_many(ids):
            if state.status.terminal:
                self._resolve(state.id, Outcome.of(state))

    def _resolve(self, task_id: str, outcome: Outcome) -> None:
        for future in self._waiting.get(task_id, ()):
            if not future.done():
                future.set_result(outcome)
