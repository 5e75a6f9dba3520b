"""Who may act: the web origin and the token, checked the same way by the manager's
mutating routes and the dashboard's WebSocket.

* ``ALLOWED_ORIGIN`` (default ``http://localhost:3000``, the original page) is the one
  web origin allowed; ``*`` allows any. A request without an ``Origin`` header is not
  from a web page (a script, ``curl``, the panel) and passes this check: the origin
  check stops *other web pages* from acting with the user's browser.
* ``DISTRITASK_API_TOKEN``, when set, must be presented; compared in constant time.
"""

from __future__ import annotations

import secrets

from pydantic import SecretStr

ANY_ORIGIN = "*"


class Access:
    """The allowed origin and the token (``None``: no token needed)."""

    def __init__(self, allowed_origin: str, token: SecretStr | None) -> None:
        self.allowed_origin = normalise_origin(allowed_origin)
        self.token = token

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a request carrying this ``Origin`` header (``None``: none) may act."""
        if origin is None or self.allowed_origin == ANY_ORIGIN:
            return True
        return normalise_origin(origin) == self.allowed_origin

    def origin_refused(self, origin: str) -> str:
        """The error for a refused origin, naming the setting that would allow it."""
        return (
            f"origin {origin!r} is not allowed (ALLOWED_ORIGIN is {self.allowed_origin!r}; "
            "a request without an Origin header, e.g. from a script, is not checked)"
        )

    def token_matches(self, given: str | None) -> bool:
        """Whether ``given`` is the configured token; always true when none is set."""
        if self.token is None:
            return True
        expected = self.token.get_secret_value().encode()
        return secrets.compare_digest((given or "").encode(), expected)


def normalise_origin(origin: str) -> str:
    """``https://Example.com/`` and ``https://example.com`` are the same origin."""
    return origin.strip().rstrip("/").lower()
