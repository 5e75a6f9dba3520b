"""The dead-letter stream: written when a task cannot run, paged, and what an
operator does with its entries.

Each entry holds the task as it was queued (``task_data``, raw), the reason, the
worker and the time (fields written by :meth:`DeadLetters.dead_letter`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend import keys
from backend.errors import ProtocolError
from backend.protocol import decode_task
from backend.store.base import text
from backend.store.states import States
from backend.store.submits import Submits

DEAD_LETTER_MAXLEN = 100_000
DEAD_LETTER_DATA_MAX = 64 * 1024
"""Bytes of ``task_data`` a dead letter keeps."""
DEAD_LETTER_ERROR_MAX = 4096
"""Characters of the reason a dead letter keeps."""
UNCHANGED: Any = object()
"""``requeue_dead``'s default payload: keep the one the task had."""


@dataclass
class DeadLetter:
    """One dead-letter entry."""

    entry: str
    """Its stream entry id (what requeue and delete take)."""
    task_id: str
    task_data: str
    """The task as it was queued (raw JSON; may be what failed to parse)."""
    error: str
    worker: str
    ts: float | None

    @classmethod
    def from_fields(cls, entry: bytes | str, fields: dict[Any, Any]) -> DeadLetter:
        values = {text(k): text(v) for k, v in fields.items()}
        try:
            ts: float | None = float(values.get("ts", ""))
        except ValueError:
            ts = None
        return cls(
            entry=text(entry),
            task_id=values.get("id", ""),
            task_data=values.get(keys.TASK_FIELD, ""),
            error=values.get("error", ""),
            worker=values.get("worker", ""),
            ts=ts,
        )


class DeadLetters(Submits, States):
    """Writing, paging, requeueing and deleting dead letters."""

    async def dead_letter(self, task_id: str, raw: bytes | str, error: str, worker: str) -> None:
        """Keep a copy of a task that could not run, and why; each entry's size is
        capped (``task_data`` past :data:`DEAD_LETTER_DATA_MAX` bytes is cut, with a note)."""
        data = raw.encode() if isinstance(raw, str) else raw
        fields: dict[str, bytes | str | float] = {
            "id": task_id[:200],
            keys.TASK_FIELD: data[:DEAD_LETTER_DATA_MAX],
            "error": error[:DEAD_LETTER_ERROR_MAX],
            "worker": worker,
            "ts": time.time(),
        }
        if len(data) > DEAD_LETTER_DATA_MAX:
            cut = f"task_data cut to its first {DEAD_LETTER_DATA_MAX} of {len(data)} bytes"
            fields["note"] = cut
        await self.redis.xadd(
            self.keys.DEAD_LETTERS, fields, maxlen=DEAD_LETTER_MAXLEN, approximate=True
        )

    async def dead_letters(self, count: int = 100) -> list[dict[str, str]]:
        """The newest dead letters, newest first."""
        entries = await self.redis.xrevrange(self.keys.DEAD_LETTERS, count=count)
        return [
            {text(k): text(v) for k, v in fields.items()} | {"entry": text(entry_id)}
            for entry_id, fields in entries
        ]

    async def dead_letter_page(
        self, offset: int = 0, limit: int = 100
    ) -> tuple[int, list[DeadLetter]]:
        """How many dead letters there are, and ``limit`` of them from ``offset``,
        newest first."""
        offset, limit = max(0, offset), max(0, limit)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.keys.DEAD_LETTERS)
            pipe.xrevrange(self.keys.DEAD_LETTERS, count=offset + limit)
            total, entries = await pipe.execute()
        page = entries[offset : offset + limit] if limit else []
        return int(total), [DeadLetter.from_fields(entry, fields) for entry, fields in page]

    async def requeue_dead(
        self, entries: Sequence[str], payload: Any = UNCHANGED
    ) -> tuple[int, list[str]]:
        """Queue the tasks of these dead letters again (as a new attempt; with
        ``payload`` instead of theirs when given) and delete the entries.

        Returns how many were queued and, for each one that could not be, why (an
        unknown entry, or task data that does not parse); those entries are kept.
        """
        queued, problems = 0, []
        for entry in entries:
            found = await self.redis.xrange(self.keys.DEAD_LETTERS, entry, entry)
            if not found:
                problems.append(f"{entry}: no such dead letter")
                continue
            letter = DeadLetter.from_fields(*found[0])
            try:
                task = decode_task(letter.task_data)
            except ProtocolError as exc:
                problems.append(f"{entry}: {exc}")
                continue
            if payload is not UNCHANGED:
                task.payload = payload
            state = await self.get(task.id)
            if state is not None:
                await self.requeue(state.model_copy(update={"payload": task.payload}))
            else:
                await self.submit([task.model_copy(update={"attempt": task.attempt + 1})])
            await self.redis.xdel(self.keys.DEAD_LETTERS, entry)
            queued += 1
        return queued, problems

    async def delete_dead(self, entries: Sequence[str]) -> int:
        """Delete dead letters; how many there were."""
        if not entries:
            return 0
        return int(await self.redis.xdel(self.keys.DEAD_LETTERS, *entries))
