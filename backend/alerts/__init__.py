"""Alerts: conditions that need an operator, raised once, repeated while they hold,
resolved when they clear. Qt-free; the manager serves them (``GET /alerts``, one
Prometheus gauge per kind) and the panel shows them.

- :mod:`~backend.alerts.model`       :class:`Alert`, :class:`AlertKind`, :class:`Thresholds`
- :mod:`~backend.alerts.conditions`  the facts of one check -> findings
- :mod:`~backend.alerts.engine`      findings over time -> alerts fired, repeated, resolved
- :mod:`~backend.alerts.watch`       the loop reading the facts through the gateway
"""

from backend.alerts.engine import AlertEngine, AlertEvent
from backend.alerts.model import Alert, AlertKind, Finding, Thresholds
from backend.alerts.watch import AlertWatch

__all__ = ["Alert", "AlertEngine", "AlertEvent", "AlertKind", "AlertWatch", "Finding", "Thresholds"]
