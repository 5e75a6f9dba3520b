"""The Lua scripts :class:`backend.store.TaskStore` runs: each does, in one command and
one reply, what would otherwise be a command per task. Each states its KEYS and ARGV.

Modules, one concept each: the helpers the state-writing scripts share, ``indexing``
(the console's indexes) and ``minutes`` (the per-minute history), and ``upkeep``, which
builds them when used or leaves them for later (``SETTLE`` does what is left);
``writes`` storing states (``SUBMIT``, ``WRITE``, ``RECORD``); ``reads`` the queues
(``PROMOTE_RETRIES``, ``READ_FIRST``); ``console`` the console's queries and bulk
actions (``QUERY``, ``FORGET``, ``RELEASE``); ``housekeeping`` (``REQUEST_CANCEL``,
``FORGET_CONSUMER``).

The texts are templates: the names a script reaches without being given them (the
console's indexes ``@IX@``..., their backlog ``@BACKLOG@``, the states ``@STATES@``,
the minute prefix ``@MN@``, the control channel ``@CONTROL@``) are filled in per key
layout by :func:`render`, so in a cluster every key a script touches shares the hash
slot of the keys it is given (KEYS[1] routes it).
``SUBMIT`` and ``WRITE`` publish status updates with ``announce(message)``, which
:func:`render` defines per layout: ``PUBLISH task_updates`` on one server; in a cluster
``SPUBLISH`` on the layout's sharded channel, plus ``PUBLISH task_updates`` unless the
layout turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

from backend import keys
from backend.scripts.console import FORGET, QUERY, RELEASE
from backend.scripts.housekeeping import FORGET_CONSUMER, REQUEST_CANCEL
from backend.scripts.reads import PROMOTE_RETRIES, READ_FIRST
from backend.scripts.upkeep import SETTLE
from backend.scripts.writes import RECORD, SUBMIT, WRITE

__all__ = ["Scripts", "render"]


@dataclass(frozen=True, slots=True)
class Scripts:
    """Every script's text for one key layout."""

    PROMOTE_RETRIES: str
    READ_FIRST: str
    SUBMIT: str
    WRITE: str
    RECORD: str
    FORGET: str
    QUERY: str
    RELEASE: str
    REQUEST_CANCEL: str
    FORGET_CONSUMER: str
    SETTLE: str


_TEMPLATES = Scripts(
    PROMOTE_RETRIES=PROMOTE_RETRIES,
    READ_FIRST=READ_FIRST,
    SUBMIT=SUBMIT,
    WRITE=WRITE,
    RECORD=RECORD,
    FORGET=FORGET,
    QUERY=QUERY,
    RELEASE=RELEASE,
    REQUEST_CANCEL=REQUEST_CANCEL,
    FORGET_CONSUMER=FORGET_CONSUMER,
    SETTLE=SETTLE,
)


@cache
def render(layout: keys.Layout = keys.STANDALONE) -> Scripts:
    """The scripts with ``layout``'s key names (and the channels) filled in."""
    names = {
        "@IX@": layout.INDEX_PREFIX,
        "@META@": layout.INDEX_META,
        "@IDS@": layout.INDEX_IDS,
        "@FINISHED@": layout.INDEX_FINISHED,
        "@DURATION@": layout.INDEX_DURATION,
        "@TASKS@": layout.TASK_INDEX,
        "@BACKLOG@": layout.INDEX_BACKLOG,
        "@STATES@": layout.TASK_STATES,
        "@MN@": layout.MINUTE_PREFIX,
        "@CONTROL@": keys.CONTROL_CHANNEL,
    }
    announce = _announce(layout)

    def fill(name: str) -> str:
        text = getattr(_TEMPLATES, name)
        for placeholder, value in names.items():
            text = text.replace(placeholder, value)
        return announce + text if name in ("SUBMIT", "WRITE") else text

    return Scripts(*(fill(f.name) for f in fields(Scripts)))


def _announce(layout: keys.Layout) -> str:
    """The Lua function ``announce(message)`` that publishes a status update."""
    calls = []
    if layout.UPDATES_SHARD_CHANNEL is not None:
        calls.append(f"redis.call('SPUBLISH', '{layout.UPDATES_SHARD_CHANNEL}', message)")
    if layout.classic_updates:
        calls.append(f"redis.call('PUBLISH', '{keys.UPDATES_CHANNEL}', message)")
    return f"local function announce(message) {'; '.join(calls)} end\n"
