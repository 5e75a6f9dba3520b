"""No cross-site "simple" requests: what a foreign web page cannot make the user's
browser do, whether or not a token is set.

A browser sends a cross-site ``POST`` without asking first (no CORS preflight) when
its body is ``text/plain``, a form, or multipart, and it always says where the page
came from in ``Origin``. So every request that may change something (any method but
``GET``, ``HEAD`` and ``OPTIONS``):

* with an ``Origin`` that is not ``ALLOWED_ORIGIN`` -> 403 (no ``Origin``: a script or
  ``curl``, not a web page, passes);
* with a body whose ``Content-Type`` is not JSON (``application/json``, or a
  ``+json`` type) -> 415. No body at all is fine: ``curl -X POST .../submit``.

The original page's preflight and ``POST {}`` with ``application/json`` pass.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.access import Access
from backend.manager.limits import refuse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSiteGuard:
    """ASGI middleware: 403 for a foreign ``Origin``, 415 for a body that is not JSON,
    on every request that is not a safe method."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if not self.access.origin_allowed(origin):
            assert origin is not None
            await refuse(send, 403, self.access.origin_refused(origin))
            return
        if has_body(headers) and not is_json(headers.get("content-type", "")):
            given = headers.get("content-type") or "none"
            await refuse(
                send,
                415,
                f"a request body must be JSON (Content-Type: application/json), not {given}",
            )
            return
        await self.app(scope, receive, send)


def has_body(headers: dict[str, str]) -> bool:
    """Whether the request declares a body: a non-zero length, or a chunked one."""
    length = headers.get("content-length", "").strip()
    if "transfer-encoding" in headers:
        return True
    return bool(length) and (not length.isdigit() or int(length) > 0)


def is_json(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json``, with any parameters."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )
