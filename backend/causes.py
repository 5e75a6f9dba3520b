"""Why the broker cannot be reached, from the exception a lost connection raised.

One rule for every part: the panel's connection keeps a :class:`Cause` and its header
says it in words (:data:`WORDS`); the outage log of every process says the same words
(:func:`reason`).
"""

from __future__ import annotations

import enum
import ssl

from redis.exceptions import AuthenticationError
from redis.exceptions import TimeoutError as RedisTimeoutError


class Cause(enum.StrEnum):
    """Why the broker is not reachable (shown in words by the header)."""

    NONE = "none"
    REFUSED = "refused"
    AUTH = "auth"
    TIMEOUT = "timeout"
    TLS = "tls"
    LOST = "lost"
    ERROR = "error"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def cause_of(exc: BaseException) -> Cause:
    """The :class:`Cause` of a lost connection, read from the exception and its chain."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, AuthenticationError) for e in chain) or "wrongpass" in text:
        return Cause.AUTH
    if any(isinstance(e, ssl.SSLError) for e in chain) or "ssl" in text or "tls" in text:
        return Cause.TLS
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return Cause.REFUSED
    if any(isinstance(e, (TimeoutError, RedisTimeoutError)) for e in chain) or "timed out" in text:
        return Cause.TIMEOUT
    return Cause.LOST


WORDS = {
    Cause.NONE: "",
    Cause.REFUSED: "connection refused",
    Cause.AUTH: "authentication failed",
    Cause.TIMEOUT: "timed out",
    Cause.TLS: "TLS error",
    Cause.LOST: "connection lost",
    Cause.ERROR: "internal error",
}
"""What each cause is called, in the panel's header and in the logs."""


def reason(exc: BaseException) -> str:
    """Why ``exc`` cut the broker off, for a log line: the cause in words (when it is
    more than "lost") and the error's own text."""
    detail = str(exc) or type(exc).__name__
    cause = cause_of(exc)
    return detail if cause is Cause.LOST else f"{WORDS[cause]}: {detail}"
