"""The loop that checks the cluster every few seconds and feeds the alert engine.

Each round reads the facts through the gateway (:class:`~backend.store.TaskStore`);
a round that finds the broker unreachable counts toward the ``broker_down`` alert
and lets :func:`backend.outage.keep_running` retry it with backoff. The manager and
the panel run the same loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from backend import connection
from backend.alerts import conditions
from backend.alerts.conditions import Facts
from backend.alerts.engine import AlertEngine, AlertEvent
from backend.alerts.model import AlertKind, Thresholds
from backend.outage import Outage, keep_running
from backend.store import TaskStore

log = logging.getLogger(__name__)

CHECK_EVERY = 2.0
"""Seconds between checks."""
DEAD_LETTER_WINDOW = 3600.0
"""Dead letters written within this many seconds (and not yet requeued or deleted)
raise an alert each."""
DEAD_LETTER_ALERTS = 100
"""Dead-letter alerts at most (the newest)."""


async def gather(store: TaskStore, now: float) -> Facts:
    """The facts of one check, read through the gateway: every queue's waiting tasks
    and readers (a paused queue is left unread on purpose, so it is not counted), and
    what each consumer holds over all the queues."""
    held: dict[str, int] = {}
    queues: dict[str, tuple[int, int]] = {}
    for info in await store.queue_infos():
        consumers = await store.consumers(info.name)
        for consumer in consumers:
            held[consumer["name"]] = held.get(consumer["name"], 0) + consumer["pending"]
        if not info.paused:
            queues[info.name] = (info.lag, sum(c["reading"] for c in consumers))
    return Facts(
        workers=await store.workers(),
        held=held,
        queues=queues,
        last_minute=await store.last_minute(),
        dead=await store.recent_dead_letters(now - DEAD_LETTER_WINDOW, DEAD_LETTER_ALERTS),
        memory=await store.memory(),
    )


class AlertWatch:
    """Checks the cluster behind the store ``store()`` returns and reports each
    :class:`AlertEvent` to ``on_event`` (e.g. a log line, a desktop notification).
    ``store()`` answers ``None`` while there is no connection (the panel's, between
    sessions): that counts as the broker being unreachable."""

    def __init__(
        self,
        store: Callable[[], TaskStore | None],
        engine: AlertEngine,
        thresholds: Thresholds,
        *,
        where: str = "",
        on_event: Callable[[AlertEvent], None] | None = None,
        every: float = CHECK_EVERY,
    ) -> None:
        self.store = store
        self.engine = engine
        self.thresholds = thresholds
        self.where = where
        self.on_event = on_event or log_event
        self.every = every
        self.outage = Outage(where, log)

    async def check(self) -> float:
        """One round; the seconds until the next."""
        now = time.time()
        try:
            store = self.store()
            if store is None:
                raise ConnectionError("not connected")
            facts = await gather(store, now)
        except Exception as exc:
            if connection.is_broker_down(exc):
                reason = str(exc) or type(exc).__name__
                finding = conditions.broker_down(self.where or "broker", reason, self.thresholds)
                self._report(self.engine.observe([finding], now, [AlertKind.BROKER_DOWN]))
            raise
        self._report(self.engine.observe(conditions.check(facts, self.thresholds), now))
        return self.every

    def _report(self, events: list[AlertEvent]) -> None:
        for event in events:
            self.on_event(event)

    async def run(self, until: asyncio.Event | None = None) -> None:
        """Check until cancelled (or ``until`` is set), riding out broker outages."""
        await keep_running(self.check, self.outage, name="alert checks", until=until)


def log_event(event: AlertEvent) -> None:
    alert = event.alert
    if event.change == "resolved":
        log.warning("alert resolved (%s %s): %s", alert.kind, alert.subject, alert.message)
    else:
        log.warning("ALERT (%s %s): %s", alert.kind, alert.subject, alert.message)
