"""Text helpers: a worker column's identity line, and spans of time in words (its
uptime, the footer's latency)."""

from __future__ import annotations

from backend.protocol import WorkerInfo


def identity(info: WorkerInfo) -> str:
    """A worker's header line: host, pid, version, concurrency."""
    version = f" · v{info.version}" if info.version else ""
    return f"{info.host or '?'} · pid {info.pid}{version} · {info.concurrency} slots"


def span(seconds: float) -> str:
    """A span of whole seconds: ``42 s``, ``5 min``, ``3 h 20 min``, ``2 d 4 h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
