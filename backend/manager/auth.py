"""The bearer token that guards mutating routes when ``DISTRITASK_API_TOKEN`` is set."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.access import Access

_bearer = HTTPBearer(auto_error=False, description="DISTRITASK_API_TOKEN, when the manager has one")


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request (401) unless it carries the configured token; no token
    configured: every request passes."""
    access: Access = request.app.state.access
    given = credentials.credentials if credentials is not None else ""
    if not access.token_matches(given):
        reason = "wrong bearer token" if given else "missing bearer token"
        raise HTTPException(
            401,
            f"{reason}: send 'Authorization: Bearer <DISTRITASK_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


Authorized = Depends(require_token)
