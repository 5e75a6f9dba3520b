"""Turning stream entries into jobs: parse, dead-letter poison, skip what is done.

A first delivery of a first attempt needs no round trip: its cancel request, if
any, is in this worker's copy (:class:`~backend.worker.control.Cancels`). Entries
that may continue an earlier run (reclaimed, or a later attempt) cost one round trip
per batch: an HMGET of their stored states and of their cancel requests (the stored
ones: a re-queue withdraws a request, which only the store knows).

An entry that does not parse, whatever the parser raises, is dead-lettered and
acknowledged at once: no entry can stop the reader. A reclaimed
entry whose outcome is already recorded is acknowledged without running again;
otherwise it runs as a new attempt, after the last one the state shows.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from backend import keys, messages
from backend.errors import ProtocolError
from backend.outage import Outage
from backend.protocol import TaskStatus, decode_task
from backend.state import TaskState, decode_state
from backend.store import Entry, TaskStore
from backend.worker.control import Cancels
from backend.worker.job import Job
from backend.worker.outbox import Outbox
from backend.worker.running import Running

log = logging.getLogger("backend.worker")

MAX_RECLAIMS = 5
"""Reclaims of one entry before it is dead-lettered (it keeps killing its workers)."""
MAX_DELIVERIES = 5
"""Deliveries of one entry without an outcome (each one's worker died, whatever the
handler did: ``os._exit``, a crash) before it is dead-lettered."""
_DONE = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.RETRYING}
)
"""States that mean an attempt's outcome is recorded."""


class Intake:
    """Prepares entries for running."""

    def __init__(
        self, store: TaskStore, outbox: Outbox, outage: Outage, cancels: Cancels, worker: str
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.outage = outage
        self.cancels = cancels
        self.worker = worker

    async def prepare(
        self,
        entries: Sequence[Entry],
        *,
        reclaimed: bool,
        deliveries: Mapping[bytes, int] | None = None,
    ) -> list[Job]:
        """The jobs to run from ``entries``; the rest are acknowledged or dead-lettered.

        ``deliveries``: for reclaimed entries, how often each was delivered before
        (none of them finished): one delivered :data:`MAX_DELIVERIES` times keeps
        killing its workers, and is dead-lettered instead of run again.
        """
        delivered = deliveries or {}
        jobs: list[Job] = []
        for entry_id, fields in entries:
            raw = (fields or {}).get(keys.TASK_FIELD.encode())
            if raw is None:
                if fields is not None:  # a deleted entry (None) needs nothing
                    await self.poison(entry_id, b"", f"entry has no {keys.TASK_FIELD} field")
                continue
            try:
                task = decode_task(raw)
                jobs.append(Job.fresh(entry_id, raw, task, self.worker))
            except ProtocolError as exc:
                await self.poison(entry_id, raw, exc.reason)
            except Exception as exc:  # whatever an entry does, it must not stop the reader
                await self.poison(entry_id, raw, f"entry does not parse: {_describe(exc)}")
        if not jobs:
            return jobs
        if not reclaimed and all(j.attempt == 1 for j in jobs):
            cancels = self.cancels
            for job in jobs:
                job.cancel_requested = job.task_id in cancels
            return jobs
        ready = [j for j in jobs if not reclaimed and j.attempt == 1]
        for job in ready:
            job.cancel_requested = job.task_id in self.cancels
        look_up = [j for j in jobs if reclaimed or j.attempt > 1]
        cancelled, stored = await self.outage.persist(lambda: self._look_up(look_up))
        for job, flag, raw_state in zip(look_up, cancelled, stored, strict=True):
            job.cancel_requested = flag is not None
            if await self._resume(
                job, raw_state, reclaimed=reclaimed, delivered=delivered.get(job.entry_id, 0)
            ):
                ready.append(job)
        return ready

    async def _look_up(self, jobs: list[Job]) -> tuple[list[Any], list[Any]]:
        return await self.store.cancels_and_states([j.task_id for j in jobs])

    async def _resume(
        self, job: Job, raw_state: bytes | None, *, reclaimed: bool, delivered: int = 0
    ) -> bool:
        """Continue from the stored state; whether the job still has to run."""
        stored: TaskState | None = None
        if raw_state is not None:
            try:
                stored = decode_state(raw_state)
            except Exception as exc:  # ProtocolError, or anything a malformed record raises
                log.warning("task %s: ignoring its stored state: %s", job.task_id, _describe(exc))
        if not reclaimed:
            if stored is not None and stored.attempt <= job.attempt:
                job.resume_from(stored)  # keeps the earlier attempts' history
            return True
        if stored is not None:
            if stored.attempt >= job.attempt and stored.status in _DONE:
                log.info("task %s: outcome already recorded; acknowledging", job.task_id)
                self.outbox.ack(job.entry_id)
                return False
            job.resume_from(stored)
            job.attempt = max(stored.attempt, job.attempt)
        job.attempt += 1
        if delivered >= MAX_DELIVERIES:
            reason = (
                f"killed its worker {delivered} times: delivered {delivered} times, "
                "and each time its worker stopped before it finished"
            )
            await self.poison(job.entry_id, job.raw, reason, job=job)
            return False
        if job.attempt - job.task.attempt > MAX_RECLAIMS:
            reason = f"reclaimed {MAX_RECLAIMS} times: it keeps stopping its workers"
            await self.poison(job.entry_id, job.raw, reason, job=job)
            return False
        return True

    async def poison(
        self, entry_id: bytes, raw: bytes, reason: str, *, job: Job | None = None
    ) -> None:
        """Dead-letter an entry that cannot run, mark its task failed, acknowledge it."""
        known = _identity(raw)
        task_id = job.task_id if job is not None else known[0] if known else entry_id.decode()
        log.warning("dead-lettering entry %s (task %s): %s", entry_id.decode(), task_id, reason)
        await self.outage.persist(lambda: self.store.dead_letter(task_id, raw, reason, self.worker))
        if job is not None:
            update = job.update(TaskStatus.FAILED, messages.dead_lettered(reason), error=reason)
            self.outbox.add(job.state, update)
        elif known is not None:
            state = Running.from_state(TaskState(id=task_id, created=time.time(), attempt=-1))
            change = state.advance(
                TaskStatus.FAILED,
                messages.dead_lettered(reason),
                worker=self.worker,
                attempt=known[1],
                seq=1,
                name="",
                error=reason,
            )
            self.outbox.add(state, change)
        self.outbox.ack(entry_id)
        self.outbox.forget_cancel(task_id)
        self.outbox.flush_soon()


def _describe(exc: BaseException) -> str:
    """An exception in one line, short enough for a dead letter's reason."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:299] + "…"


def _identity(raw: bytes) -> tuple[str, int] | None:
    """The task id and attempt in an entry that is JSON but not a valid task."""
    try:
        data = json.loads(raw)
    except Exception:  # not JSON, or JSON no parser should follow (RecursionError)
        return None
    if not isinstance(data, dict):
        return None
    task_id, attempt = data.get("id"), data.get("attempt", 1)
    if not isinstance(task_id, str) or not 0 < len(task_id) <= 200:
        return None
    return task_id, attempt if isinstance(attempt, int) and attempt > 0 else 1
