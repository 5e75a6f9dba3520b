"""The alert engine: turns what each check finds into alerts raised, repeated, resolved.

A condition must hold for its finding's ``after`` seconds before its alert is raised;
while it keeps holding, the alert is raised again at most once per ``repeat`` seconds;
the first check that no longer finds it marks the alert resolved. A check that could
not look at some kinds (the broker was down) leaves their alerts as they are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from backend.alerts.model import Alert, AlertKind, Finding

KEEP = 200
"""Alerts the engine remembers (active ones and the newest resolved)."""

Change = Literal["fired", "repeated", "resolved"]
Key = tuple[AlertKind, str]


@dataclass(frozen=True)
class AlertEvent:
    """An alert just raised (``fired``), raised again (``repeated``) or ``resolved``."""

    change: Change
    alert: Alert


class AlertEngine:
    """The alerts of one process (a manager, a panel)."""

    def __init__(self, repeat: float = 1800.0, keep: int = KEEP) -> None:
        self.repeat = repeat
        self._since: dict[Key, float] = {}
        """Conditions found and not yet raised: when first found."""
        self._active: dict[Key, Alert] = {}
        self._history: deque[Alert] = deque(maxlen=keep)

    def observe(
        self, findings: Iterable[Finding], now: float, checked: Iterable[AlertKind] = AlertKind
    ) -> list[AlertEvent]:
        """Apply one check's ``findings`` (of the kinds in ``checked``) at epoch ``now``."""
        kinds = set(checked)
        found = {(f.kind, f.subject): f for f in findings}
        events: list[AlertEvent] = []
        for key, finding in found.items():
            alert = self._active.get(key)
            if alert is not None:
                alert.message = finding.message
                if now - alert.notified >= self.repeat:
                    alert.notified = now
                    alert.times += 1
                    events.append(AlertEvent("repeated", alert.model_copy()))
                continue
            since = self._since.setdefault(key, now)
            if now - since >= finding.after:
                del self._since[key]
                alert = Alert(
                    id=f"{finding.kind}:{finding.subject}:{int(now * 1000)}",
                    kind=finding.kind,
                    subject=finding.subject,
                    subject_kind=finding.subject_kind,
                    message=finding.message,
                    fired=now,
                    notified=now,
                )
                self._active[key] = alert
                self._history.append(alert)
                events.append(AlertEvent("fired", alert.model_copy()))
        for key in [k for k in self._since if k[0] in kinds and k not in found]:
            del self._since[key]
        for key in [k for k in self._active if k[0] in kinds and k not in found]:
            alert = self._active.pop(key)
            alert.resolved = now
            events.append(AlertEvent("resolved", alert.model_copy()))
        return events

    def alerts(self, *, active_only: bool = False) -> list[Alert]:
        """Copies of the alerts remembered, newest first (each resolved one once)."""
        listed = {a.id: a for a in self._history}
        listed.update((a.id, a) for a in self._active.values())  # never forget an active one
        chosen = [a for a in listed.values() if a.active or not active_only]
        return [a.model_copy() for a in sorted(chosen, key=lambda a: a.fired, reverse=True)]

    def counts(self) -> dict[AlertKind, int]:
        """Active alerts per kind (every kind, 0 for none)."""
        counts = dict.fromkeys(AlertKind, 0)
        for kind, _ in self._active:
            counts[kind] += 1
        return counts
