"""Periodic tasks: ``/schedules`` (add, list, remove, pause, resume)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.manager.auth import Authorized
from backend.manager.schemas import ErrorResponse
from backend.manager.services import Svc
from backend.protocol import QUEUE_PATTERN
from backend.schedules import Schedule

router = APIRouter(tags=["schedules"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 422, 503)
}
ScheduleId = Annotated[str, Path(pattern=r"^[\w.:-]{1,100}$", description="the schedule's id")]


class ScheduleRequest(BaseModel):
    """A periodic task: ``cron`` (5 fields, read in ``timezone``) or ``every`` seconds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the task to queue at each tick")
    cron: str | None = Field(None, description="e.g. '*/5 * * * *'")
    timezone: str = Field("UTC", description="IANA zone the cron expression is read in")
    every: float | None = Field(None, description="or an interval in seconds (at least 1)")
    payload: Any = Field(None, description="any JSON, handed to each task")
    queue: str | None = Field(None, pattern=QUEUE_PATTERN, description="default: 'default'")
    max_retries: int | None = Field(None, ge=0, le=100)
    id: str | None = Field(None, description="give one to replace that schedule")


class ScheduleView(Schedule):
    next_run: float | None = Field(None, description="epoch seconds of its next tick")


class ScheduleList(BaseModel):
    schedules: list[ScheduleView]


@router.post(
    "/schedules",
    status_code=201,
    response_model=ScheduleView,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Add (or replace, with its id) a periodic task",
)
async def add(svc: Svc, body: ScheduleRequest) -> ScheduleView:
    problem = svc.policy.problem(body.name)
    if problem is not None:
        raise HTTPException(422, f"body.name: {problem}")
    try:
        schedule_id = await svc.store.schedule(
            body.name,
            cron=body.cron,
            every=body.every,
            payload=body.payload,
            queue=body.queue,
            schedule_id=body.id,
            timezone=body.timezone,
            max_retries=body.max_retries,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise HTTPException(422, f"{where}: {reason}") from None
    return await _view(svc, schedule_id)


@router.get("/schedules", response_model=ScheduleList, responses=_ERRORS, summary="Every schedule")
async def listing(svc: Svc) -> ScheduleList:
    found = await svc.store.schedules()
    ticks = await svc.store.next_ticks([schedule.id for schedule in found])
    return ScheduleList(
        schedules=[
            ScheduleView(**schedule.model_dump(), next_run=tick)
            for schedule, tick in zip(found, ticks, strict=True)
        ]
    )


@router.delete(
    "/schedules/{schedule_id}",
    status_code=204,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Remove a schedule (tasks it queued stay)",
)
async def remove(svc: Svc, schedule_id: ScheduleId) -> Response:
    if not await svc.store.unschedule(schedule_id):
        raise HTTPException(404, f"no schedule {schedule_id!r}")
    return Response(status_code=204)


@router.post(
    "/schedules/{schedule_id}/pause",
    response_model=ScheduleView,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Pause a schedule (no task at its ticks until resumed)",
)
async def pause(svc: Svc, schedule_id: ScheduleId) -> ScheduleView:
    return await _paused(svc, schedule_id, True)


@router.post(
    "/schedules/{schedule_id}/resume",
    response_model=ScheduleView,
    dependencies=[Authorized],
    responses=_ERRORS,
    summary="Resume a schedule (from its next tick; ticks passed meanwhile are skipped)",
)
async def resume(svc: Svc, schedule_id: ScheduleId) -> ScheduleView:
    return await _paused(svc, schedule_id, False)


async def _paused(svc: Svc, schedule_id: str, paused: bool) -> ScheduleView:
    if await svc.store.pause_schedule(schedule_id, paused) is None:
        raise HTTPException(404, f"no schedule {schedule_id!r}")
    return await _view(svc, schedule_id)


async def _view(svc: Svc, schedule_id: str) -> ScheduleView:
    schedule = await svc.store.get_schedule(schedule_id)
    if schedule is None:
        raise HTTPException(404, f"no schedule {schedule_id!r}")
    [tick] = await svc.store.next_ticks([schedule_id])
    return ScheduleView(**schedule.model_dump(), next_run=tick)
