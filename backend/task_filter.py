"""A filter over the retained tasks, and its short text form.

The text form is what the console shows and takes back: space-separated ``key:value``
terms, the rest free text, e.g. ``status:failed name:resize q:timeout``. Keys:
``status``, ``name``, ``queue``, ``worker``, ``id`` (an id prefix), ``since`` and
``until`` (epoch seconds, ISO 8601 times, or ``-1h``-style times before now), ``sort``
(``created``, ``finished`` or ``duration``, ``-`` in front for newest/longest first)
and ``q`` (free text over id, message and error). A value with spaces is quoted: ``q:"no route"``.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from backend.protocol import TaskStatus

SORTS = ("-created", "created", "-finished", "finished", "-duration", "duration")
"""Orders :meth:`~backend.store.TaskStore.list_tasks` takes (``-``: descending)."""
FILTER_KEYS = ("status", "name", "queue", "worker", "id", "since", "until", "sort", "q")


class FilterError(ValueError):
    """A filter text or value that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks to list; every field left ``None`` matches all."""

    status: str | None = None
    name: str | None = None
    queue: str | None = None
    worker: str | None = None
    id_prefix: str | None = None
    since: float | None = None
    until: float | None = None
    q: str | None = None
    sort: str = "-created"

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in {s.value for s in TaskStatus}:
            known = ", ".join(s.value for s in TaskStatus)
            raise FilterError(f"unknown status {self.status!r} (one of: {known})")
        if self.sort not in SORTS:
            raise FilterError(f"unknown sort {self.sort!r} (one of: {', '.join(SORTS)})")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise FilterError("since is after until")

    @classmethod
    def parse(cls, text: str) -> TaskFilter:
        """The filter a text form describes; words without a key are free text."""
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise FilterError(f"cannot read the filter: {exc}") from None
        values: dict[str, Any] = {}
        free: list[str] = []
        for word in words:
            key, sep, value = word.partition(":")
            if not sep or key not in FILTER_KEYS:
                free.append(word)
                continue
            if not value:
                raise FilterError(f"{key}: needs a value")
            if key in ("since", "until"):
                values[key] = parse_time(value, key)
            elif key == "id":
                values["id_prefix"] = value
            elif key == "q":
                free.append(value)
            else:
                values[key] = value
        if free:
            values["q"] = " ".join(free)
        return cls(**values)

    def text(self) -> str:
        """The short text form (``parse`` of it gives this filter back)."""
        terms = []
        for key, value in (
            ("status", self.status),
            ("name", self.name),
            ("queue", self.queue),
            ("worker", self.worker),
            ("id", self.id_prefix),
            ("since", _iso(self.since)),
            ("until", _iso(self.until)),
            ("sort", None if self.sort == "-created" else self.sort),
            ("q", self.q),
        ):
            if value:
                terms.append(f"{key}:{shlex.quote(value)}")
        return " ".join(terms)

    def with_(self, **changes: Any) -> TaskFilter:
        return replace(self, **changes)

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) in (None, "") for f in fields(self) if f.name != "sort")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(value: str, what: str = "time") -> float:
    """Epoch seconds from epoch seconds, an ISO 8601 time (UTC when no zone) or a time
    relative to now (``-90s``, ``-15m``, ``-1h``, ``-7d``)."""
    try:
        return float(value)
    except ValueError:
        pass
    if value.startswith("-") and value[-1:] in _UNITS:
        try:
            return time.time() - float(value[1:-1]) * _UNITS[value[-1]]
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{what}: {value!r} is neither epoch seconds nor an ISO time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    spec = "seconds" if float(ts).is_integer() else "microseconds"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec=spec).replace("+00:00", "Z")
