"""Periodic tasks: a schedule, its timetable, and the rule for ticks missed.

A :class:`Schedule` queues one task per *tick*. Its timetable is either a 5-field
cron expression read in an explicit time zone (UTC by default; parsed and iterated
by the ``cronsim`` library, DST included) or an interval in seconds (``every``),
whose ticks are the multiples of ``every`` since the epoch (``every=60`` runs on the
minute), so every process computes the same ticks.

**Exactly one task per tick.** Every worker and manager runs the scheduler (inside
its :class:`~backend.promoter.Promoter`). A process that finds a schedule due claims
the tick with ``SET <schedule+tick> NX EX`` (:meth:`~backend.store.TaskStore.claim_tick`);
only the one that set the key queues the task. Each then moves the schedule's next
tick forward (``ZADD XX GT``: never back, never resurrecting a removed schedule).

**Ticks missed while everything was down are not replayed.** When a scheduler
finds that several ticks passed since the recorded next one, it runs the schedule
*once*, for the latest tick passed (one catch-up run), then keeps to the timetable
from now on. A schedule paused across ticks does the same when resumed: it runs
at its next tick after the resume, with no catch-up.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.errors import ProtocolError
from backend.protocol import DEFAULT_QUEUE, QUEUE_PATTERN

MIN_EVERY = 1.0
"""The shortest interval, in seconds."""
ONE_MICROSECOND = timedelta(microseconds=1)


class Schedule(BaseModel):
    """A periodic task, as stored in :data:`backend.keys.SCHEDULES`."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], pattern=r"^[\w.:-]{1,100}$")
    name: str = Field(min_length=1, max_length=100)
    """The task to queue (a handler name)."""
    payload: Any = None
    queue: str = Field(DEFAULT_QUEUE, pattern=QUEUE_PATTERN)
    cron: str | None = None
    """A 5-field cron expression (minute hour day-of-month month day-of-week)."""
    timezone: str = "UTC"
    """The IANA time zone the cron expression is read in."""
    every: float | None = Field(None, ge=MIN_EVERY, le=366 * 86400)
    """Or: an interval in seconds."""
    max_retries: int | None = Field(None, ge=0, le=100)
    paused: bool = False
    created: float = Field(default_factory=time.time)
    source: str = "api"
    """Where it was declared: ``api`` (HTTP, CLI, client) or ``module`` (``@task(cron=)``)."""

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if len(value.split()) != 5:
            raise ValueError("a cron expression has 5 fields: minute hour day month weekday")
        try:
            CronSim(value, datetime.now(UTC))
        except CronSimError as exc:
            raise ValueError(f"bad cron expression {value!r}: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_timetable(self) -> Schedule:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of cron and every")
        return self

    @property
    def describe(self) -> str:
        """The timetable for people: ``cron */5 * * * * (UTC)`` or ``every 30 s``."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        return f"every {self.every:g} s"

    def next_after(self, ts: float) -> float:
        """The first tick strictly after epoch time ``ts``."""
        if self.every is not None:
            return (ts // self.every + 1) * self.every
        assert self.cron is not None
        start = datetime.fromtimestamp(ts, ZoneInfo(self.timezone))
        return next(CronSim(self.cron, start)).timestamp()

    def last_at_or_before(self, ts: float) -> float:
        """The latest tick at or before epoch time ``ts``."""
        if self.every is not None:
            return ts // self.every * self.every
        assert self.cron is not None
        start = datetime.fromtimestamp(ts, ZoneInfo(self.timezone)) + ONE_MICROSECOND
        return next(CronSim(self.cron, start, reverse=True)).timestamp()

    def tick_ttl(self) -> int:
        """Seconds a tick's claim key lives: long past any scheduler's reach of it."""
        period = self.every if self.every is not None else 60.0
        return int(max(120.0, 3 * period))


def encode_schedule(schedule: Schedule) -> str:
    return schedule.model_dump_json()


def decode_schedule(raw: bytes | str) -> Schedule:
    try:
        return Schedule.model_validate_json(raw)
    except ValueError as exc:
        raise ProtocolError(f"bad schedule: {exc}", raw) from None
