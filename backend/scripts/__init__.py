"""The Lua scripts :class:`backend.store.TaskStore` runs: each does, in one command and
one reply, what would otherwise be a command per task. Each states its KEYS and ARGV.

Modules, one concept each: ``indexing`` the helpers the state-writing scripts share
(the console's indexes, the per-minute history); ``writes`` storing states (``SUBMIT``,
``WRITE``, ``RECORD``); ``reads`` the queues (``PROMOTE_RETRIES``, ``READ_FIRST``);
``console`` the console's queries and bulk actions (``QUERY``, ``FORGET``,
``RELEASE``); ``housekeeping`` (``REQUEST_CANCEL``, ``FORGET_CONSUMER``).
"""

from __future__ import annotations

from backend.scripts.console import FORGET, QUERY, RELEASE
from backend.scripts.housekeeping import FORGET_CONSUMER, REQUEST_CANCEL
from backend.scripts.indexing import _INDEX, _MINUTE
from backend.scripts.reads import PROMOTE_RETRIES, READ_FIRST
from backend.scripts.writes import _ORDER, RECORD, SUBMIT, WRITE

__all__ = [
    "FORGET",
    "FORGET_CONSUMER",
    "PROMOTE_RETRIES",
    "QUERY",
    "READ_FIRST",
    "RECORD",
    "RELEASE",
    "REQUEST_CANCEL",
    "SUBMIT",
    "WRITE",
    "_INDEX",
    "_MINUTE",
    "_ORDER",
]
