"""Operations on many tasks at once, and on the dead letters: ``POST /tasks/bulk``,
``GET /dead-letters``, ``POST /dead-letters/requeue``, ``POST /dead-letters/delete``.

The work is the store's (:mod:`backend.store.query`, :mod:`backend.store.deadletters`):
bulk actions run server-side in batches, filters use the indexes.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from backend.manager.auth import Authorized
from backend.manager.console_schemas import (
    BulkRequest,
    BulkResult,
    DeadLetterDelete,
    DeadLetterEntry,
    DeadLetterPage,
    DeadLetterRequeue,
    DeleteResult,
    RequeueResult,
)
from backend.manager.schemas import ErrorResponse
from backend.manager.services import Svc
from backend.store.deadletters import UNCHANGED
from backend.task_filter import FilterError, TaskFilter

router = APIRouter()

_READ: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 422, 503)
}
_WRITE: dict[int | str, dict[str, Any]] = {
    **_READ,
    **{code: {"model": ErrorResponse} for code in (401, 403, 413, 415)},
}


@router.post(
    "/tasks/bulk",
    response_model=BulkResult,
    dependencies=[Authorized],
    responses=_WRITE,
    tags=["tasks"],
    summary="Cancel, retry or delete many tasks: by ids, or all that match a filter",
)
async def bulk(svc: Svc, body: BulkRequest) -> BulkResult:
    """Runs server-side in batches. Tasks the action does not apply to (cancel a
    finished task, retry a running one, delete an unfinished one) are left alone:
    ``done`` counts the ones changed."""
    wanted = None
    if body.filter is not None:
        chosen = body.filter
        try:
            wanted = TaskFilter(
                status=chosen.status.value if chosen.status is not None else None,
                name=chosen.name,
                queue=chosen.queue,
                worker=chosen.worker,
                q=chosen.q,
            )
        except FilterError as exc:
            raise HTTPException(422, f"body.filter: {exc}") from None
    progress = await svc.store.bulk(body.action, ids=body.ids, wanted=wanted)
    return BulkResult(matched=progress.matched, done=progress.done)


@router.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    responses=_READ,
    tags=["dead letters"],
    summary="Dead letters, newest first, a page at a time",
)
async def dead_letters(
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeadLetterPage:
    total, letters = await svc.store.dead_letter_page(offset=offset, limit=limit)
    entries = [DeadLetterEntry(**asdict(letter)) for letter in letters]
    return DeadLetterPage(total=total, offset=offset, limit=limit, entries=entries)


@router.post(
    "/dead-letters/requeue",
    response_model=RequeueResult,
    dependencies=[Authorized],
    responses=_WRITE,
    tags=["dead letters"],
    summary="Queue dead letters' tasks again (one with an edited payload)",
)
async def requeue_dead_letters(svc: Svc, body: DeadLetterRequeue) -> RequeueResult:
    """Each task is queued again as a new attempt and its entry removed; an entry
    that does not exist or whose task does not parse is left, with the reason."""
    payload = body.payload if "payload" in body.model_fields_set else UNCHANGED
    requeued, problems = await svc.store.requeue_dead(body.ids, payload)
    return RequeueResult(requeued=requeued, problems=problems)


@router.post(
    "/dead-letters/delete",
    response_model=DeleteResult,
    dependencies=[Authorized],
    responses=_WRITE,
    tags=["dead letters"],
    summary="Delete dead letters",
)
async def delete_dead_letters(svc: Svc, body: DeadLetterDelete) -> DeleteResult:
    return DeleteResult(deleted=await svc.store.delete_dead(body.ids))
