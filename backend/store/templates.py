"""Encoding many new tasks quickly, for :meth:`~backend.store.TaskStore.enqueue_new`.

Each new task needs three JSON documents: its pending state and update (the fields
:func:`backend.transition.queued` gives) and its stream entry
(:func:`backend.protocol.new_task_json`). Tasks of one *kind* (same name, payload
object, retries and timeout) differ only in their id and creation time, so the
documents of the first such task are encoded with those values marked, cut at the
marks once, and filled in for the others: the same bytes (pinned by
``tests/backend/test_templates.py``) at a fraction of the cost.
"""

from __future__ import annotations

import operator
import re
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json

from backend import messages, transition
from backend.protocol import clock, new_task_json

_MARK = re.compile(rb'"@@([A-Z])@@"')
_MAYBE_NONE = ("started", "finished", "error", "payload", "result", "max_retries", "due")
"""The fields of a pending state that may be null (``encode_state`` leaves nulls out)."""
_MARKS = 10
"""Marks in the three documents: the id 3 times, the creation time 4, the clock 2,
the ISO time 1."""
_SLOTS = {b"I": 0, b"C": 1, b"S": 2, b"A": 3}
"""Where each mark's value is in the values :meth:`_Kind.fill` computes."""
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]+")

Encoded = tuple[bytes, bytes, bytes]
"""A new task's pending state, pending update and stream entry, as JSON."""


def encode(
    task_id: Any,
    name: str,
    wire: str | None,
    payload: Any,
    max_retries: int,
    created: Any,
    timeout: float | None,
    by: str,
    *,
    stamp: Any = None,
    created_at: Any = None,
) -> Encoded:
    """The three documents of one new task, encoded directly."""
    state, update = transition.queued(
        task_id=task_id,
        name=name,
        payload=payload,
        max_retries=max_retries,
        attempt=1,
        created=created,
        stamp=clock(created) if stamp is None else stamp,
        by=by,
        message=messages.QUEUED,
    )
    for key in _MAYBE_NONE:
        if state[key] is None:
            del state[key]
    if created_at is None:
        entry = new_task_json(task_id, name, wire, max_retries, created, timeout)
    else:
        entry = to_json(
            {
                "id": task_id,
                "name": name,
                "payload": wire,
                "status": 0,
                "retries": 0,
                "max_retries": max_retries,
                "created_at": created_at,
                "timeout": timeout,
                "attempt": 1,
            }
        )
    return to_json(state), to_json(update), entry


class _Kind:
    """The documents of one kind of task, cut where the id and times go."""

    def __init__(
        self,
        name: str,
        wire: str | None,
        payload: Any,
        max_retries: int,
        timeout: float | None,
        by: str,
    ) -> None:
        docs = encode(
            "@@I@@",
            name,
            wire,
            payload,
            max_retries,
            "@@C@@",
            timeout,
            by,
            stamp="@@S@@",
            created_at="@@A@@",
        )
        cuts = [_MARK.split(doc) for doc in docs]
        marks = sum(len(cut) // 2 for cut in cuts)
        self.usable = marks == _MARKS  # else a value itself looked like a mark
        # each document as a %-format with its marks' values picked in order
        self.formats = [b"%s".join(part.replace(b"%", b"%%") for part in cut[::2]) for cut in cuts]
        self.picks = [operator.itemgetter(*(_SLOTS[mark] for mark in cut[1::2])) for cut in cuts]

    def fill(self, task_id: str, created: float) -> Encoded:
        safe = _SAFE_ID.fullmatch(task_id)
        values = (
            b'"%s"' % task_id.encode() if safe else to_json(task_id),
            repr(created).encode(),
            b'"%s"' % clock(created).encode(),
            to_json(datetime.fromtimestamp(created, UTC)),
        )
        (state, update, entry), (s, u, e) = self.formats, self.picks
        return state % s(values), update % u(values), entry % e(values)


class Encoder:
    """Encodes new tasks; from the second task of a kind on, by filling its template."""

    def __init__(self, by: str) -> None:
        self.by = by
        self._kinds: dict[tuple[Any, ...], _Kind | None] = {}
        """Templates by kind; ``None``: one task of the kind seen, no template yet."""

    def encode(
        self,
        task_id: str,
        name: str,
        wire: str | None,
        payload: Any,
        max_retries: int,
        created: float,
        timeout: float | None,
    ) -> Encoded:
        key = (name, wire, max_retries, timeout)
        if key not in self._kinds:  # the first of its kind: no template yet
            self._kinds[key] = None
            return encode(task_id, name, wire, payload, max_retries, created, timeout, self.by)
        kind = self._kinds[key]
        if kind is None:
            kind = self._kinds[key] = _Kind(name, wire, payload, max_retries, timeout, self.by)
        if not kind.usable:
            return encode(task_id, name, wire, payload, max_retries, created, timeout, self.by)
        return kind.fill(task_id, created)
