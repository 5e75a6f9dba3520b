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

import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
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

MAX_KINDS = 1000
"""Kinds an encoder keeps at most (all are dropped when it has seen more: every
distinct payload is a kind of its own)."""

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
        # Each document's pieces in order, picked from the mark values followed by the
        # literal parts: joining them copies bytes only (a %-format would parse the
        # whole document each time).
        self.pieces: list[operator.itemgetter[Any]] = []
        for cut in cuts:
            order: list[int] = []
            for index, part in enumerate(cut):
                order.append(_SLOTS[part] if index % 2 else len(_SLOTS) + index // 2)
            self.pieces.append(operator.itemgetter(*order))
        self.parts = [tuple(cut[::2]) for cut in cuts]
        self.layouts = [_layout(cut) for cut in cuts]
        """For filling many at once (:mod:`backend.store.framing`): each document's
        pieces in order, a value's slot or literal bytes, the id unquoted (its quotes
        are in the literals around it: ids known to need no escaping only)."""

    def fill(self, task_id: str, created: float, stamps: _Stamps) -> Encoded:
        """The documents of the task ``task_id`` created at ``created``."""
        clock_text, iso = stamps(created)
        values = (
            b'"%s"' % task_id.encode() if _SAFE_ID.fullmatch(task_id) else to_json(task_id),
            repr(created).encode(),
            clock_text,
            iso,
        )
        (s, u, e), (sp, up, ep), join = self.pieces, self.parts, b"".join
        return join(s(values + sp)), join(u(values + up)), join(e(values + ep))


def _layout(cut: list[bytes]) -> tuple[int | bytes, ...]:
    """A document cut at its marks, as :attr:`_Kind.layouts` holds it."""
    pieces: list[int | bytes] = []
    for index, part in enumerate(cut):
        if index % 2 == 0:
            pieces.append(part)
        elif part == b"I":
            pieces += [b'"', _SLOTS[part], b'"']
        else:
            pieces.append(_SLOTS[part])
    merged: list[int | bytes] = []
    for piece in pieces:  # adjacent literals as one
        last = merged[-1] if merged else None
        if isinstance(piece, bytes) and isinstance(last, bytes):
            merged[-1] = last + piece
        elif piece != b"":
            merged.append(piece)
    return tuple(merged)


class _Stamps:
    """A creation time's ``time`` field (:data:`clock`) and ``created_at`` (what
    ``to_json(datetime.fromtimestamp(ts, UTC))`` writes: rounded to the microsecond,
    half to even, as ``datetime`` does), as JSON strings; the parts that change once a
    second are made once a second."""

    __slots__ = ("_clock", "_clock_second", "_prefix", "_second")

    def __init__(self) -> None:
        self._clock_second = self._second = -1
        self._clock = self._prefix = b""

    def __call__(self, ts: float) -> tuple[bytes, bytes]:
        whole = int(ts)
        if whole != self._clock_second:
            self._clock = b'"%s"' % clock(ts).encode()
            self._clock_second = whole
        fraction, second = math.modf(ts)
        micro = round(fraction * 1e6)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        elif micro < 0:
            second, micro = second - 1, micro + 1_000_000
        if second != self._second:
            self._prefix = to_json(datetime.fromtimestamp(second, UTC))[:-2]  # less 'Z"'
            self._second = int(second)
        return self._clock, self._prefix + (b'.%06dZ"' % micro if micro else b'Z"')


@dataclass(slots=True)
class NewTask:
    """A task to submit, as plain values (see :meth:`~backend.store.TaskStore.enqueue_new`)."""

    task_id: str
    name: str
    wire: str | None
    """The payload as the stream carries it (:func:`backend.protocol.wire_payload`)."""
    payload: Any
    max_retries: int
    created: float
    timeout: float | None = None
    own_id: bool = False
    """Whether the caller chose the id (then it is checked for duplicates)."""


class Encoder:
    """Encodes new tasks; from the second task of a kind on, by filling its template."""

    def __init__(self, by: str) -> None:
        self.by = by
        self._kinds: dict[tuple[Any, ...], _Kind | None] = {}
        """Templates by kind; ``None``: one task of the kind seen, no template yet."""
        self.stamps = _Stamps()
        """A creation time's ``time`` and ``created_at`` fields (see :class:`_Stamps`)."""

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
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            self._kinds[key] = None
            return encode(task_id, name, wire, payload, max_retries, created, timeout, self.by)
        kind = self._kinds[key]
        if kind is None:
            kind = self._kinds[key] = _Kind(name, wire, payload, max_retries, timeout, self.by)
        if not kind.usable:
            return encode(task_id, name, wire, payload, max_retries, created, timeout, self.by)
        return kind.fill(task_id, created, self.stamps)

    def template(self, task: NewTask) -> _Kind | None:
        """The template of ``task``'s kind (made now if needed), or ``None`` when its
        documents cannot be filled in (a value of the kind looks like a mark)."""
        key = (task.name, task.wire, task.max_retries, task.timeout)
        kind = self._kinds.get(key)
        if kind is None:
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            kind = _Kind(
                task.name, task.wire, task.payload, task.max_retries, task.timeout, self.by
            )
            self._kinds[key] = kind
        return kind if kind.usable else None

    def encode_many(self, tasks: Sequence[NewTask]) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """:meth:`encode` for each of ``tasks``: their pending states, pending updates
        and stream entries (a run of tasks of one kind is filled in a tight loop)."""
        states: list[bytes] = []
        updates: list[bytes] = []
        entries: list[bytes] = []
        kind: _Kind | None = None
        last: tuple[Any, ...] | None = None
        stamps = self.stamps
        for t in tasks:
            key = (t.name, t.wire, t.max_retries, t.timeout)
            if key != last or kind is None:
                if key in self._kinds:  # from the second of its kind on: its template
                    kind = self._kinds[key]
                    if kind is None:
                        kind = _Kind(t.name, t.wire, t.payload, t.max_retries, t.timeout, self.by)
                        self._kinds[key] = kind
                    if not kind.usable:
                        kind = None
                else:
                    kind = None
                last = key
            if kind is None:
                state, update, entry = self.encode(
                    t.task_id, t.name, t.wire, t.payload, t.max_retries, t.created, t.timeout
                )
            else:
                state, update, entry = kind.fill(t.task_id, t.created, stamps)
            states.append(state)
            updates.append(update)
            entries.append(entry)
        return states, updates, entries
