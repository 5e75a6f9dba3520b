"""A broker URL (``REDIS_URL``): the forms it may take, and how it is shown to people.

:func:`redis_url_problem` checks a URL's form before any client is made (the settings,
the panel's settings dialog). Logs and messages show a broker by :func:`describe` (its
address: scheme, host and port, never the password); an error that quotes a whole URL
masks its user and password (:func:`mask_url`). The clients are made by
:mod:`backend.connection`; a ``redis+sentinel://`` URL's form is :mod:`backend.sentinel`'s.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from backend import sentinel

REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://", "rediss+sentinel://")


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a ``REDIS_URL`` (its scheme; a ``redis+sentinel://`` URL's
    form), or ``None``. For forms that check a URL before any client is made."""
    if not url.startswith(REDIS_SCHEMES):
        return "must start with " + ", ".join(REDIS_SCHEMES)
    if sentinel.is_sentinel_url(url):
        try:
            sentinel.parse(url)
        except sentinel.InvalidSentinelURL as exc:
            return str(exc)
    return None


def describe(url: str) -> str:
    """The broker's address for people: scheme, host and port, never the password."""
    if sentinel.is_sentinel_url(url):
        return sentinel.describe(url)
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 6379}"


def mask_url(url: str) -> str:
    """``url`` with any user and password replaced by ``***`` (for messages)."""
    url = re.sub(r"(sentinel_password=)[^&#]*", r"\1***", url)
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)?[^/@]*@", r"\1***@", url)


def is_unix(url: str) -> bool:
    """Whether ``url`` is a Unix socket's (``unix://``)."""
    return url.startswith("unix:")
