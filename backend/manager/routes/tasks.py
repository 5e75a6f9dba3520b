"""Submitting tasks and looking at them: ``/submit`` and ``/tasks``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from backend import actions
from backend.errors import TaskConflict, TaskExists, TaskNotFound
from backend.manager.auth import Authorized
from backend.manager.schemas import (
    SUBMIT_BODY,
    ErrorResponse,
    SubmitRequest,
    SubmitResponse,
    TaskPage,
    parse_submit,
)
from backend.manager.services import Svc
from backend.policy import SubmitRefused, due_time
from backend.protocol import TaskStatus
from backend.state import TaskState

router = APIRouter(tags=["tasks"])
ALREADY_QUEUED = "Task already queued (same task_id, not finished): nothing new queued"

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 422, 503)
}
_MUTATING_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    **{code: {"model": ErrorResponse} for code in (401, 403, 409, 413, 415)},
}
TaskId = Annotated[str, Path(min_length=1, max_length=200, description="the task's id")]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/submit",
    openapi_extra=SUBMIT_BODY,
    response_model=SubmitResponse,
    response_model_exclude_none=True,
    dependencies=[Authorized],
    responses=_MUTATING_ERRORS,
    summary="Queue tasks (no body or {}: one deploy_node, as the original)",
)
async def submit(svc: Svc, raw: Annotated[bytes, Depends(_raw_body)]) -> SubmitResponse:
    """The body is JSON (``Content-Type: application/json``; any other type is a 415);
    an empty body is the same as ``{}``. With task fields, the answer also lists every
    queued id. ``count`` x the payload's JSON size must fit in
    ``DISTRITASK_MAX_SUBMIT_BYTES`` (413 otherwise)."""
    body = parse_submit(raw)
    request = body or SubmitRequest()
    problem = svc.policy.problem(request.name)
    if problem is not None:
        raise HTTPException(422, f"body.name: {problem}")
    over = over_budget(request, svc.settings.max_submit_bytes)
    if over is not None:
        raise HTTPException(413, over)
    if request.task_id is not None and request.count != 1:
        raise HTTPException(422, "body.task_id: names one task (count must be 1)")
    try:
        due = due_time(request.delay, request.at)
        tasks = svc.policy.tasks(
            request.name,
            request.payload,
            request.count,
            max_retries=request.max_retries,
            timeout=request.timeout,
            queue=request.queue,
            due=due,
            task_id=request.task_id,
        )
    except SubmitRefused as exc:
        raise HTTPException(422, f"body.{exc}") from None
    try:
        done = await svc.store.enqueue(tasks, replace=request.replace)
    except TaskExists as exc:
        raise HTTPException(409, str(exc)) from None
    ids = [task.id for task in tasks]
    detailed = body is not None and bool(body.model_fields_set)
    if done.duplicates:
        return SubmitResponse(id=ids[0], ids=ids, message=ALREADY_QUEUED, duplicate=True)
    return SubmitResponse(id=ids[0], ids=ids if detailed else None)


def over_budget(request: SubmitRequest, budget: int) -> str | None:
    """Why ``request`` is over the per-request budget (count x the payload's JSON
    size), or ``None``: one call must not make the manager and the broker hold
    ``count`` copies of a large payload."""
    size = len(json.dumps(request.payload, separators=(",", ":")))
    total = request.count * size
    if total <= budget:
        return None
    return (
        f"count x payload = {request.count} x {size} bytes = {total} bytes, over the "
        f"per-request budget of {budget} bytes (DISTRITASK_MAX_SUBMIT_BYTES); "
        "send fewer or smaller tasks per request"
    )


@router.get(
    "/tasks",
    response_model=TaskPage,
    response_model_exclude_none=True,
    response_model_exclude={"tasks": {"__all__": {"history"}}},
    responses=_ERRORS,
    summary="List tasks",
)
async def list_tasks(
    svc: Svc,
    status: TaskStatus | None = None,
    worker: Annotated[str | None, Query(max_length=200)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="free text over id, message and error"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Tasks matching every filter given, newest first, a page at a time (without
    their history: ``GET /tasks/{id}`` has it), from the indexes the write scripts
    keep (no scan, at any retention). ``worker``: the tasks that worker ran. With
    ``q`` the search reads the states newest first and stops at a full page:
    ``exact`` is then false and ``total`` counts the matches found so far (at least
    that many)."""
    page = await svc.store.list_tasks(
        status=status.value if status is not None else None,
        worker=worker,
        name=name,
        q=q,
        limit=limit,
        offset=offset,
    )
    return {
        "total": page.total,
        "exact": page.exact if q is not None else None,
        "offset": offset,
        "limit": limit,
        "tasks": page.tasks,
    }


@router.get(
    "/tasks/{task_id}",
    response_model=TaskState,
    response_model_exclude_none=True,
    responses=_ERRORS,
    summary="One task's state and its status history",
)
async def get_task(svc: Svc, task_id: TaskId) -> TaskState:
    return await _known(svc, task_id)


@router.post(
    "/tasks/{task_id}/cancel",
    status_code=202,
    response_model=TaskState,
    response_model_exclude_none=True,
    dependencies=[Authorized],
    responses=_MUTATING_ERRORS,
    summary="Cancel a task (a queued one at once, a running one is interrupted)",
)
async def cancel_task(svc: Svc, task_id: TaskId) -> TaskState:
    with _answered():
        cancelled = await actions.cancel(svc.store, task_id)
    return cancelled


@router.post(
    "/tasks/{task_id}/retry",
    status_code=202,
    response_model=TaskState,
    response_model_exclude_none=True,
    dependencies=[Authorized],
    responses=_MUTATING_ERRORS,
    summary="Queue a failed or cancelled task again, as a new attempt",
)
async def retry_task(svc: Svc, task_id: TaskId) -> TaskState:
    with _answered():
        queued = await actions.retry(svc.store, task_id)
    return queued


async def _known(svc: Svc, task_id: str) -> TaskState:
    with _answered():
        return await actions.known(svc.store, task_id)


@contextlib.contextmanager
def _answered() -> Iterator[None]:
    """The shared actions' refusals as HTTP answers: unknown 404, not now 409."""
    try:
        yield
    except TaskNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except TaskConflict as exc:
        raise HTTPException(409, str(exc)) from None
