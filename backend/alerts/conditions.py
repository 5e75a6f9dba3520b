"""The conditions: what one check of the cluster finds wrong (pure functions of facts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.alerts.model import AlertKind, Finding, Thresholds
from backend.protocol import WorkerInfo
from backend.store import DeadLetter

MEMORY_SHARE = 0.9
"""Share of maxmemory that raises the memory alert when no threshold is set."""


@dataclass
class Facts:
    """What one check read from the broker."""

    workers: list[WorkerInfo] = field(default_factory=list)
    held: dict[str, int] = field(default_factory=dict)
    """Consumer name -> entries delivered to it and not acknowledged."""
    queues: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Queue -> (tasks waiting, not yet delivered; consumers reading it)."""
    last_minute: dict[str, float] = field(default_factory=dict)
    """Counts of the last 60 s (completed, failed...)."""
    dead: list[DeadLetter] = field(default_factory=list)
    memory: tuple[int, int] = (0, 0)
    """The server's used_memory and maxmemory."""


def lost_workers(facts: Facts) -> list[Finding]:
    found = []
    for info in facts.workers:
        held = facts.held.get(info.name, 0)
        if not info.online and info.heartbeat and held:
            found.append(
                Finding(
                    AlertKind.WORKER_LOST,
                    info.name,
                    "worker",
                    f"worker {info.name} is lost with {held} task(s) in flight; "
                    "they are reclaimed once their hold times out",
                )
            )
    return found


def unread_queues(facts: Facts, thresholds: Thresholds) -> list[Finding]:
    return [
        Finding(
            AlertKind.NO_CONSUMER,
            queue,
            "queue",
            f"{waiting} task(s) wait in queue {queue} and no worker reads it",
            after=thresholds.no_consumer_after,
        )
        for queue, (waiting, readers) in facts.queues.items()
        if waiting > 0 and readers == 0
    ]


def failure_rate(facts: Facts, thresholds: Thresholds) -> list[Finding]:
    failed = facts.last_minute.get("failed", 0.0)
    finished = failed + facts.last_minute.get("completed", 0.0)
    if finished <= 0 or failed / finished <= thresholds.failure_rate:
        return []
    rate = failed / finished
    return [
        Finding(
            AlertKind.FAILURE_RATE,
            "cluster",
            "cluster",
            f"{rate:.0%} of the tasks finished in the last minute failed "
            f"(threshold {thresholds.failure_rate:.0%})",
        )
    ]


def dead_letters(facts: Facts) -> list[Finding]:
    return [
        Finding(
            AlertKind.DEAD_LETTER,
            dead.task_id or dead.entry,
            "task",
            f"task {dead.task_id or '?'} was dead-lettered: {dead.error}",
        )
        for dead in facts.dead
    ]


def memory(facts: Facts, thresholds: Thresholds) -> list[Finding]:
    used, limit = facts.memory
    threshold = thresholds.memory_bytes or int(limit * MEMORY_SHARE)
    if not threshold or used <= threshold:
        return []
    return [
        Finding(
            AlertKind.MEMORY,
            "broker",
            "broker",
            f"the broker uses {used / 2**20:.1f} MiB of memory "
            f"(threshold {threshold / 2**20:.1f} MiB)",
        )
    ]


def check(facts: Facts, thresholds: Thresholds) -> list[Finding]:
    """Every condition found in ``facts`` (the broker answered, so it is not down)."""
    return [
        *lost_workers(facts),
        *unread_queues(facts, thresholds),
        *failure_rate(facts, thresholds),
        *dead_letters(facts),
        *memory(facts, thresholds),
    ]


def broker_down(where: str, reason: str, thresholds: Thresholds) -> Finding:
    return Finding(
        AlertKind.BROKER_DOWN,
        where,
        "broker",
        f"the broker {where} is unreachable: {reason}",
        after=thresholds.broker_down_after,
    )
