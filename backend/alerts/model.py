"""Alerts: what they are about, and the thresholds that raise them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from backend.config import Settings


class AlertKind(StrEnum):
    """The conditions an alert is raised for."""

    WORKER_LOST = "worker_lost"
    """A worker went offline holding tasks (its entries wait to be reclaimed)."""
    NO_CONSUMER = "no_consumer"
    """Tasks wait in a queue that no worker reads."""
    FAILURE_RATE = "failure_rate"
    """Too many of the last minute's finished tasks failed."""
    DEAD_LETTER = "dead_letter"
    """A task was dead-lettered (and is still in the dead-letter stream)."""
    BROKER_DOWN = "broker_down"
    """The broker does not answer."""
    MEMORY = "memory"
    """The broker uses more memory than the threshold."""


Subject = Literal["worker", "queue", "task", "broker", "cluster"]


class Alert(BaseModel):
    """One alert: raised when its condition was found, resolved when it cleared."""

    id: str
    kind: AlertKind
    subject: str
    """What it is about: a worker name, a queue, a task id, the broker's address."""
    subject_kind: Subject
    message: str
    fired: float
    """Epoch seconds it was first raised."""
    notified: float
    """Epoch seconds it was last raised (again, while its condition held)."""
    times: int = 1
    """How often it was raised (once per repeat interval while it held)."""
    resolved: float | None = None
    """Epoch seconds its condition cleared; ``None`` while it holds."""

    @property
    def active(self) -> bool:
        return self.resolved is None


@dataclass(frozen=True)
class Finding:
    """A condition found true in one check."""

    kind: AlertKind
    subject: str
    subject_kind: Subject
    message: str
    after: float = 0.0
    """Seconds it must hold before the alert is raised."""


@dataclass(frozen=True)
class Thresholds:
    """The alert settings (``DISTRITASK_ALERT_*``)."""

    no_consumer_after: float = 60.0
    failure_rate: float = 0.5
    broker_down_after: float = 30.0
    memory_bytes: int = 0
    """0: 90 % of the server's maxmemory, none when it has no limit."""
    repeat: float = 1800.0
    """Seconds between repeats of an alert whose condition holds."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            no_consumer_after=settings.alert_no_consumer_after,
            failure_rate=settings.alert_failure_rate,
            broker_down_after=settings.alert_broker_down_after,
            memory_bytes=settings.alert_memory_bytes,
            repeat=settings.alert_repeat * 60,
        )
