"""The HTTP side of the dashboard's handshake: who may open the WebSocket.

``/health`` answers 200, any path but :data:`PATH` 404. On :data:`PATH` a browser page
from another origin than ``ALLOWED_ORIGIN`` gets 403, and when ``DISTRITASK_API_TOKEN``
is set a client without it gets 401 (:mod:`backend.access` holds both rules). The
token comes as ``?token=<TOKEN>`` or as the subprotocol ``token.<TOKEN>``, which the
server then names in its answer (a browser fails a handshake whose answer names none
of the subprotocols it offered).
"""

from __future__ import annotations

import http
import logging
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from backend.access import Access

log = logging.getLogger("backend.dashboard")

PATH = "/ws"
TOKEN_PROTOCOL = "token."
"""Prefix of the subprotocol that carries the token (``token.<TOKEN>``)."""


class Gate:
    """The HTTP side of the handshake: ``/health``, 404 elsewhere, and on ``/ws`` the
    origin and token checks (403, 401) before the WebSocket is accepted."""

    def __init__(self, access: Access) -> None:
        self.access = access

    def __call__(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/health":
            return ws.respond(http.HTTPStatus.OK, "ok\n")
        if url.path != PATH:
            return ws.respond(http.HTTPStatus.NOT_FOUND, f"not found; the WebSocket is at {PATH}\n")
        origin = request.headers.get("Origin")
        if not self.access.origin_allowed(origin):
            assert origin is not None
            log.info("refused a WebSocket from another web page: origin %r", origin)
            return ws.respond(http.HTTPStatus.FORBIDDEN, self.access.origin_refused(origin) + "\n")
        given = parse_qs(url.query).get("token", [None])[0] or _offered_token(request)
        if not self.access.token_matches(given):
            log.info("refused a WebSocket: %s token", "wrong" if given else "missing")
            return ws.respond(
                http.HTTPStatus.UNAUTHORIZED,
                f"{'wrong' if given else 'missing'} token: connect to {PATH}?token=<TOKEN> or "
                f"offer the subprotocol {TOKEN_PROTOCOL}<TOKEN> (DISTRITASK_API_TOKEN)\n",
            )
        return None


def _offered(request: Request) -> list[str]:
    """The subprotocols a client offers."""
    offered = request.headers.get_all("Sec-WebSocket-Protocol")
    return [part.strip() for value in offered for part in value.split(",") if part.strip()]


def _offered_token(request: Request) -> str | None:
    for protocol in _offered(request):
        if protocol.startswith(TOKEN_PROTOCOL):
            return protocol.removeprefix(TOKEN_PROTOCOL)
    return None


def select_subprotocol(ws: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Answer with the token subprotocol when the client offered one."""
    return next((p for p in offered if p.startswith(TOKEN_PROTOCOL)), None)
