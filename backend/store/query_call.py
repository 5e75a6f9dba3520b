"""The ``QUERY`` script's call for a :class:`~backend.task_filter.TaskFilter`: the sets
it walks and checks and its first arguments (:data:`backend.scripts.QUERY` documents
its KEYS and ARGV; :class:`~backend.store.query.Query` adds the page and where the
walk starts and stops).

The sort set is the task index (by creation time), the finished-time or the duration
set; each status, name, queue or worker the filter names adds its index set; two
scratch keys are fresh for each call. The free-text needle is lowercased and also
sent in its JSON-escaped form, as the stored states spell it.
"""

from __future__ import annotations

import json
import uuid

from backend.keys import Layout
from backend.task_filter import TaskFilter


def query_call(layout: Layout, wanted: TaskFilter) -> tuple[list[str], list[object], str, str]:
    """The QUERY script's keys, its first arguments, the needle and its JSON form."""
    sort = wanted.sort.lstrip("-")
    sortset = {"created": layout.TASK_INDEX, "finished": layout.INDEX_FINISHED}.get(
        sort, layout.INDEX_DURATION
    )
    filters = [
        layout.index(name, value)
        for name, value in (
            ("status", wanted.status),
            ("name", wanted.name),
            ("queue", wanted.queue),
            ("worker", wanted.worker),
        )
        if value is not None
    ]
    scratch = layout.INDEX_TEMP_PREFIX + uuid.uuid4().hex
    needle = (wanted.q or "").lower()
    args: list[object] = [
        1 if wanted.sort.startswith("-") else 0,
        _bound(wanted.since, "-inf"),
        _bound(wanted.until, "+inf"),
        wanted.id_prefix or "",
    ]
    call_keys = [
        sortset,
        layout.TASK_STATES,
        scratch + ":a",
        scratch + ":b",
        layout.TASK_INDEX,
        layout.INDEX_IDS,
        *filters,
    ]
    return call_keys, args, needle, json.dumps(needle, ensure_ascii=False)[1:-1]


def _bound(value: float | None, default: str) -> str:
    return default if value is None else repr(float(value))
