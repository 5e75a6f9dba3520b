"""The Lua scripts :class:`backend.store.TaskStore` runs: each does, in one command and
one reply, what would otherwise be a command per task. Each states its KEYS and ARGV.

Modules, one concept each: ``indexing`` the helpers the state-writing scripts share
(the console's indexes, the per-minute history); ``writes`` storing states (``SUBMIT``,
``WRITE``, ``RECORD``); ``reads`` the queues (``PROMOTE_RETRIES``, ``READ_FIRST``);
``console`` the console's queries and bulk actions (``QUERY``, ``FORGET``,
``RELEASE``); ``housekeeping`` (``REQUEST_CANCEL``, ``FORGET_CONSUMER``).

The texts are templates: the names a script reaches without being given them (the
console's indexes ``@IX@``..., the minute prefix ``@MN@``, the channels ``@UPDATES@``
and ``@CONTROL@``) are filled in per key layout by :func:`render`, so in a cluster
every key a script touches shares the hash slot of the keys it is given (KEYS[1] routes it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

from backend import keys
from backend.scripts.console import FORGET, QUERY, RELEASE
from backend.scripts.housekeeping import FORGET_CONSUMER, REQUEST_CANCEL
from backend.scripts.reads import PROMOTE_RETRIES, READ_FIRST
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
        "@MN@": layout.MINUTE_PREFIX,
        "@UPDATES@": keys.UPDATES_CHANNEL,
        "@CONTROL@": keys.CONTROL_CHANNEL,
    }

    def fill(text: str) -> str:
        for name, value in names.items():
            text = text.replace(name, value)
        return text

    return Scripts(*(fill(getattr(_TEMPLATES, f.name)) for f in fields(Scripts)))
