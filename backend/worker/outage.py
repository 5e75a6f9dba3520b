"""The worker's name for :mod:`backend.outage` (one :class:`Outage` per worker, shared
by all its loops)."""

from backend.outage import Outage, keep_running

__all__ = ["Outage", "keep_running"]
