"""The submit script's arguments for many new tasks, framed as the wire carries them.

:meth:`~backend.store.TaskStore.enqueue_new` sends batches of thousands of tasks as
one command of six arguments per task (see :data:`backend.scripts.SUBMIT`). Built one
by one in Python, those arguments cost more than the server spends on them; here a
run of tasks of one kind is built a column at a time: each document's literal pieces
and its values (ids, creation times, stamps) are laid out in one list and joined
once, RESP headers included. The bytes are those of encoding each task on its own
(:class:`~backend.store.templates.Encoder`), pinned by ``tests/backend/test_templates.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from operator import add
from typing import Any

from backend.store.templates import Encoder, NewTask

CRLF = b"\r\n"
_SAFE_IDS = re.compile(r"[A-Za-z0-9_.:-]+(?:\n[A-Za-z0-9_.:-]+)*")
"""Ids (one a line) that JSON carries as they are: no escaping."""


class _Headers(dict[int, bytes]):
    """RESP bulk-string headers (``$370\\r\\n``) by length, each made once."""

    def __missing__(self, size: int) -> bytes:
        header = self[size] = b"$%d\r\n" % size
        return header


_HEADERS = _Headers()


def bulk(args: Sequence[bytes]) -> bytes:
    """``args`` as RESP bulk strings, one after the other."""
    seq = [CRLF] * (3 * len(args))
    seq[0::3] = list(map(_HEADERS.__getitem__, map(len, args)))
    seq[1::3] = args
    return b"".join(seq)


def command(words: list[Any], count: int | None = None) -> bytes:
    """A command as the wire carries it (RESP), as redis-py's ``pack_command`` makes
    it from bytes, str, int and float arguments; much quicker for thousands. With
    ``count``: the start of a command of that many words, ``words`` the first ones
    (the rest follow as :func:`bulk` frames them)."""
    args = [w if type(w) is bytes else str(w).encode() for w in words]
    return b"*%d\r\n" % (len(args) if count is None else count) + bulk(args)


def submit_args(encoder: Encoder, tasks: Sequence[NewTask]) -> list[bytes]:
    """The submit script's per-task arguments for ``tasks``: their ids, pending states,
    creation times, stream entries, pending updates and names, each list framed as
    :func:`bulk` frames it."""
    blocks: list[list[bytes]] = [[], [], [], [], [], []]
    first = 0
    while first < len(tasks):  # runs of one kind
        head = tasks[first]
        key = (head.name, head.wire, head.max_retries, head.timeout)
        end = first + 1
        while end < len(tasks):
            t = tasks[end]
            if (t.name, t.wire, t.max_retries, t.timeout) != key:
                break
            end += 1
        _run(encoder, tasks[first:end], blocks)
        first = end
    return [b"".join(block) for block in blocks]


def _run(encoder: Encoder, run: Sequence[NewTask], blocks: list[list[bytes]]) -> None:
    """Add a run of tasks of one kind to ``blocks`` (see :func:`submit_args`)."""
    n = len(run)
    ids = [t.task_id for t in run]
    joined = "\n".join(ids)
    safe = _SAFE_IDS.fullmatch(joined) and joined.count("\n") == n - 1  # no id holds one
    kind = encoder.template(run[0]) if n > 1 and safe else None
    created = [t.created for t in run]
    if kind is None:  # one at a time
        states, updates, entries = encoder.encode_many(run)
        times = [repr(ts).encode() for ts in created]
        docs = [bulk(states), bulk(entries), bulk(updates)]
        raw = [task_id.encode() for task_id in ids]
    else:
        raw = joined.encode().split(b"\n")
        times = repr(created)[1:-1].encode().split(b", ")  # repr of each, at once
        stamps = [encoder.stamps(ts) for ts in created]
        values = (raw, times, [s for s, _ in stamps], [a for _, a in stamps])
        state, update, entry = (_fill(layout, values, n) for layout in kind.layouts)
        docs = [state, entry, update]
    blocks[0].append(bulk(raw))
    blocks[1].append(docs[0])
    blocks[2].append(bulk(times))
    blocks[3].append(docs[1])
    blocks[4].append(docs[2])
    blocks[5].append(bulk([run[0].name.encode()] * n))


def _fill(layout: tuple[int | bytes, ...], values: tuple[list[bytes], ...], n: int) -> bytes:
    """``n`` documents of ``layout`` (its value slots filled from ``values``), each
    framed as a RESP bulk string, joined."""
    width = len(layout) + 2
    sizes: Iterable[int] = [sum(len(piece) for piece in layout if isinstance(piece, bytes))] * n
    for piece in layout:
        if isinstance(piece, int):
            sizes = map(add, sizes, map(len, values[piece]))
    seq = [CRLF] * (n * width)
    seq[0::width] = list(map(_HEADERS.__getitem__, sizes))
    for column, piece in enumerate(layout, 1):
        seq[column::width] = values[piece] if isinstance(piece, int) else [piece] * n
    return b"".join(seq)
