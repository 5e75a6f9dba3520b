"""Orders to one worker: ``POST /workers/{name}/drain`` and ``POST /workers/{name}/stop``.

Both go over the control channel every worker listens to (see
:mod:`backend.worker.control`); the worker named acts on it, any other ignores it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from backend.manager.auth import Authorized
from backend.manager.schemas import ErrorResponse, WorkerOrder
from backend.manager.services import Services, Svc

router = APIRouter(tags=["workers"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 503)
}
WorkerName = Annotated[str, Path(min_length=1, max_length=200, description="the worker's name")]


@router.post(
    "/workers/{name}/drain",
    status_code=202,
    response_model=WorkerOrder,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Drain a worker: it takes no new tasks, finishes its running ones, exits 0",
)
async def drain_worker(svc: Svc, name: WorkerName) -> WorkerOrder:
    await _listening(svc, name)
    heard = await svc.store.drain_worker(name)
    return WorkerOrder(worker=name, order="drain", heard=heard)


@router.post(
    "/workers/{name}/stop",
    status_code=202,
    response_model=WorkerOrder,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Stop a worker now: it exits at once; other workers reclaim its running tasks",
)
async def stop_worker(svc: Svc, name: WorkerName) -> WorkerOrder:
    await _listening(svc, name)
    heard = await svc.store.stop_worker(name)
    return WorkerOrder(worker=name, order="stop", heard=heard)


async def _listening(svc: Services, name: str) -> None:
    """Refuse an order no worker would act on: 404 unknown, 409 offline or a worker
    that does not listen to the control channel (a Go worker)."""
    info = await svc.store.worker(name)
    if info is None:
        raise HTTPException(404, f"no worker {name!r}")
    if not info.heartbeat:
        raise HTTPException(409, f"worker {name!r} does not listen to control messages")
    if not info.online:
        raise HTTPException(409, f"worker {name!r} is offline")
