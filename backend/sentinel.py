"""Redis Sentinel URLs: ``redis+sentinel://``, parsed into a :class:`SentinelURL`.

A sentinel URL names the sentinels and the service they watch, never the master
itself; every connection asks the sentinels where the master is now (redis-py's
``Sentinel.master_for``), so after a failover the next connection reaches the new
master::

    redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB][?OPTIONS]
    rediss+sentinel://...    TLS to the master and (unless sentinel_ssl=no) to the sentinels

``PORT`` defaults to 26379. ``USER``/``PASSWORD`` log in to the master (and its
replicas). ``OPTIONS``:

- ``sentinel_password``, ``sentinel_username``: log in to the sentinels (their
  ``requirepass``); unset: the sentinels need no password;
- ``db``: the database number (the same as ``/SERVICE/DB``);
- ``sentinel_ssl=no``: with ``rediss+sentinel://``, TLS to the master only;
- ``ssl_cert_reqs``, ``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_certfile``,
  ``ssl_keyfile``, ``ssl_check_hostname``: TLS as with ``rediss://``.

A URL that does not follow this form raises :class:`InvalidSentinelURL` (a
``ValueError``) with the reason; it never reaches redis-py.

The clients are built by :mod:`backend.sentinel_clients`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
DEFAULT_PORT = 26379
SENTINEL_TIMEOUT = 2.0
"""Seconds a sentinel gets to answer where the master is (a dead one is skipped)."""
_TLS_OPTIONS = (
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_ca_path",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
)
_OPTIONS = ("sentinel_password", "sentinel_username", "sentinel_ssl", "db", *_TLS_OPTIONS)
_SERVICE = re.compile(r"[A-Za-z0-9_.\-]+")
_NO = ("0", "no", "false", "off")
_YES = ("1", "yes", "true", "on")


class InvalidSentinelURL(ValueError):
    """A ``redis+sentinel://`` URL that does not follow the documented form."""


@dataclass(frozen=True)
class SentinelURL:
    """A parsed sentinel URL (:func:`parse`)."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False
    sentinel_ssl: bool = False
    tls: dict[str, Any] = field(default_factory=dict)

    def master_kwargs(self) -> dict[str, Any]:
        """Connection settings for the master (beside the caller's socket settings)."""
        kwargs: dict[str, Any] = {"db": self.db, "username": self.username}
        kwargs["password"] = self.password
        if self.ssl:
            kwargs.update(ssl=True, **self.tls)
        return kwargs

    def sentinel_kwargs(self, connect_timeout: float | None) -> dict[str, Any]:
        """Connection settings for the sentinels: short timeouts, no retries (the
        next sentinel is asked instead)."""
        timeout = min(connect_timeout or SENTINEL_TIMEOUT, SENTINEL_TIMEOUT)
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": timeout,
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_keepalive": True,
            "username": self.sentinel_username,
            "password": self.sentinel_password,
        }
        if self.sentinel_ssl:
            kwargs.update(ssl=True, **self.tls)
        return kwargs

    def describe(self) -> str:
        """The sentinels and the service, for people (never a password)."""
        scheme = "rediss+sentinel" if self.ssl else "redis+sentinel"
        hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)
        return f"{scheme}://{hosts}/{self.service}"


def is_sentinel_url(url: str) -> bool:
    return url.lower().startswith(SCHEMES)


def describe(url: str) -> str:
    """A sentinel URL for people: sentinels and service, no password or options (a
    malformed one too)."""
    try:
        return parse(url).describe()
    except InvalidSentinelURL:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.split('?', 1)[0].rpartition('@')[2]}"


def parse(url: str) -> SentinelURL:
    """The parts of a sentinel URL; raises :class:`InvalidSentinelURL` with the reason."""
    if not is_sentinel_url(url):
        raise InvalidSentinelURL("a sentinel URL starts with " + " or ".join(SCHEMES))
    scheme, rest = url.split("://", 1)
    rest, _, query = rest.partition("?")
    rest = rest.split("#", 1)[0]
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, password = _credentials(userinfo)
    sentinels = [_address(part) for part in hosts.split(",")]
    service, db = _service_and_db(path)
    options = _options(query)
    if "db" in options:
        db = _number("db", options["db"])
    ssl = scheme.lower() == "rediss+sentinel"
    sentinel_ssl = ssl and _flag("sentinel_ssl", options.get("sentinel_ssl", "yes"))
    tls: dict[str, Any] = {k: options[k] for k in _TLS_OPTIONS if k in options}
    if "ssl_check_hostname" in tls:
        tls["ssl_check_hostname"] = _flag("ssl_check_hostname", tls["ssl_check_hostname"])
    if tls and not ssl:
        raise InvalidSentinelURL("ssl_* options need TLS: use rediss+sentinel://")
    return SentinelURL(
        sentinels=sentinels,
        service=service,
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
        ssl=ssl,
        sentinel_ssl=sentinel_ssl,
        tls=tls,
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if colon else None)


def _address(part: str) -> tuple[str, int]:
    part = part.strip()
    if not part:
        raise InvalidSentinelURL("no sentinel address (expected HOST[:PORT][,HOST[:PORT]...])")
    if part.startswith("["):  # [IPv6]:PORT
        host, bracket, port = part[1:].partition("]")
        if not bracket or not host or (port and not port.startswith(":")):
            raise InvalidSentinelURL(f"bad sentinel address {part!r}")
        port = port[1:]
    else:
        host, _, port = part.partition(":")
        if not host:
            raise InvalidSentinelURL(f"sentinel address {part!r} has no host")
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidSentinelURL(
            f"sentinel address {part!r}: the port must be a number from 1 to 65535"
        )
    return host, int(port)


def _service_and_db(path: str) -> tuple[str, int]:
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts:
        raise InvalidSentinelURL(
            "no service name: add the name the sentinels monitor, e.g. .../mymaster"
        )
    if len(parts) > 2:
        raise InvalidSentinelURL("the path is /SERVICE or /SERVICE/DB")
    if not _SERVICE.fullmatch(parts[0]):
        raise InvalidSentinelURL(f"bad service name {parts[0]!r}")
    return parts[0], (_number("db", parts[1]) if len(parts) == 2 else 0)


def _options(query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _OPTIONS:
            raise InvalidSentinelURL(
                f"unknown option {name!r} (known: {', '.join(sorted(_OPTIONS))})"
            )
        options[name] = value
    return options


def _number(name: str, value: str) -> int:
    if not value.isdigit():
        raise InvalidSentinelURL(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _flag(name: str, value: str) -> bool:
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise InvalidSentinelURL(f"{name} must be yes or no, not {value!r}")
