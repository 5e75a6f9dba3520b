"""Refuse request bodies over ``max_body`` bytes with 413, before they are read whole.

A declared ``Content-Length`` over the limit is refused at once; a chunked body is
counted as it arrives and refused when it crosses the limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: at most ``max_body`` bytes of request body."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await refuse(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_body:
                await refuse(send, 413, self._too_large())
                return
        received = 0

        async def counted() -> Message:
            # Raised where the body is read; the app's error handling answers it.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body} bytes (DISTRITASK_MAX_BODY)"


async def refuse(send: Send, status: int, message: str) -> None:
    """Answer with a JSON error body, from ASGI middleware (before the app)."""
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
