"""Every error the manager answers is JSON: ``{"error": "<what was wrong>"}``, plus
``detail`` (the validation errors) when a request did not validate.

* malformed JSON -> 400, a body that does not validate -> 422 (naming the field);
* a missing or wrong token -> 401, a foreign web origin on a mutating route -> 403,
  an unknown task or route -> 404, a state that does not allow the action -> 409, a
  body too large -> 413, a body that is not ``application/json`` -> 415;
* the broker unreachable, or fewer replicas than ``DISTRITASK_SUBMIT_REPLICAS`` having
  a submit in time -> 503; anything unexpected -> 500, logged with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend import connection
from backend.errors import NotReplicated

log = logging.getLogger(__name__)


def error_response(
    status: int, message: str, detail: Any = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def _where(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("loc", ())) or "request"


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    first = errors[0] if errors else {"msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return error_response(400, f"malformed JSON body: {first.get('ctx', {}) or first['msg']}")
    return error_response(422, f"{_where(first)}: {first['msg']}", errors)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _broker_down(request: Request, exc: Exception) -> JSONResponse:
    if not connection.is_broker_down(exc):
        return await _unexpected(request, exc)
    log.warning("%s %s: broker unavailable: %s", request.method, request.url.path, exc)
    return error_response(503, f"broker unavailable: {exc}")


async def _not_replicated(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return error_response(503, str(exc))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    hint = connection.misconfigured(exc)
    if hint is not None:
        log.error("%s %s failed: %s", request.method, request.url.path, hint)
        return error_response(500, hint)
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, f"internal error: {type(exc).__name__}")


def install(app: FastAPI) -> None:
    """Make every error the app answers a JSON error body."""
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    for kind in (RedisError, *connection.BROKER_DOWN):
        app.add_exception_handler(kind, _broker_down)
    app.add_exception_handler(NotReplicated, _not_replicated)
    app.add_exception_handler(Exception, _unexpected)
