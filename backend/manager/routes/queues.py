"""Named queues: ``GET /queues``, ``POST /queues/{name}/pause`` and ``/resume``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from backend.manager.auth import Authorized
from backend.manager.schemas import ErrorResponse
from backend.manager.services import Svc
from backend.protocol import QUEUE_PATTERN

router = APIRouter(tags=["queues"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 422, 503)
}
QueueName = Annotated[str, Path(pattern=QUEUE_PATTERN, description="the queue's name")]


class QueueFigures(BaseModel):
    name: str
    stream: str = Field(description="its Redis stream (default: the Go services' task_stream)")
    depth: int = Field(description="tasks not finished: waiting plus running (lag + pending)")
    lag: int = Field(description="entries not delivered to any worker yet")
    pending: int = Field(description="entries delivered and not acknowledged")
    consumers: int = Field(description="worker consumers of its group")
    oldest_age: float | None = Field(description="seconds the oldest waiting entry has waited")
    scheduled: int = Field(description="delayed tasks and retries waiting for their time")
    paused: bool = Field(description="workers do not take from it")


class QueueList(BaseModel):
    queues: list[QueueFigures]


class QueueState(BaseModel):
    name: str
    paused: bool
    changed: bool = Field(description="false when it already was in that state")


@router.get(
    "/queues",
    response_model=QueueList,
    responses=_ERRORS,
    summary="Every queue's depth, lag, pending entries, consumers, oldest age, pause",
)
async def queues(svc: Svc) -> QueueList:
    infos = await svc.store.queue_infos()
    return QueueList(
        queues=[QueueFigures.model_validate(info, from_attributes=True) for info in infos]
    )


@router.post(
    "/queues/{name}/pause",
    response_model=QueueState,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Stop workers taking from a queue (kept across restarts)",
)
async def pause(svc: Svc, name: QueueName) -> QueueState:
    changed = await svc.store.pause(name)
    return QueueState(name=name, paused=True, changed=changed)


@router.post(
    "/queues/{name}/resume",
    response_model=QueueState,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Let workers take from a paused queue again",
)
async def resume(svc: Svc, name: QueueName) -> QueueState:
    changed = await svc.store.resume(name)
    return QueueState(name=name, paused=False, changed=changed)
