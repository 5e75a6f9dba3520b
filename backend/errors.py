"""Distritask's exceptions. Everything we raise on purpose derives from one root::

DistritaskError
├── ConfigError          a setting has a bad value (names the setting and the value)
├── ProtocolError        a message from Redis or a client is not what the protocol says
└── BrokerError          Redis cannot be reached or the embedded server cannot start
    └── EmbeddedBrokerUnavailable   no embedded server on this platform
"""

from __future__ import annotations


class DistritaskError(Exception):
    """Root of every error Distritask raises on purpose."""


class ConfigError(DistritaskError):
    """A setting has a bad value."""

    def __init__(self, setting: str, value: object, reason: str) -> None:
        self.setting = setting
        self.value = value
        self.reason = reason
        super().__init__(f"invalid setting {setting}={value!r}: {reason}")


class ProtocolError(DistritaskError):
    """A message does not follow the wire protocol; ``raw`` is what arrived."""

    def __init__(self, reason: str, raw: bytes | str | None = None) -> None:
        self.reason = reason
        self.raw = raw
        super().__init__(reason)


class BrokerError(DistritaskError):
    """Redis cannot be reached, or the embedded server cannot be started."""


class EmbeddedBrokerUnavailable(BrokerError):
    """The embedded server does not exist for this platform: set REDIS_URL."""
