"""The manager's request and response bodies (they make the OpenAPI schema)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend import messages
from backend.policy import NAME_PATTERN
from backend.protocol import DEFAULT_TASK, QUEUE_PATTERN, WorkerInfo
from backend.state import TaskState

ENQUEUED = messages.ENQUEUED
MAX_COUNT = 1000


class SubmitRequest(BaseModel):
    """Tasks to queue. Every field is optional: ``{}`` queues one ``deploy_node``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(DEFAULT_TASK, pattern=NAME_PATTERN, description="handler to run")
    payload: Any = Field(None, description="any JSON, handed to the handler")
    max_retries: int | None = Field(
        None, ge=0, le=100, description="retries after a failure (default: the setting)"
    )
    count: int = Field(1, ge=1, le=MAX_COUNT, description="how many such tasks to queue")
    timeout: float | None = Field(
        None, gt=0, le=86_400, description="seconds a run may take (default: the worker's)"
    )
    queue: str | None = Field(
        None, pattern=QUEUE_PATTERN, description="named queue (default: 'default')"
    )
    delay: float | None = Field(None, ge=0, description="seconds before it may run")
    at: datetime | None = Field(
        None, description="when it may run (RFC 3339 with an offset); not with delay"
    )
    task_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="your own id (with count 1): submitting it again while that task is "
        "unfinished queues nothing (duplicate: true); once finished, 409 unless replace",
    )
    replace: bool = Field(False, description="with task_id: run a finished task again")


SUBMIT_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": SubmitRequest.model_json_schema()}},
    }
}
"""The OpenAPI description of ``POST /submit``'s body, which the route reads itself."""


def parse_submit(raw: bytes) -> SubmitRequest | None:
    """The submit request in ``raw`` (JSON), ``None`` for an empty body; a body that is
    not JSON is a 400, one that does not validate a 422 naming the field."""
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"malformed JSON body: {exc}") from None
    try:
        return SubmitRequest.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


class SubmitResponse(BaseModel):
    id: str = Field(description="the (first) queued task's id")
    message: str = ENQUEUED
    ids: list[str] | None = Field(None, description="every queued id (when a body was given)")
    duplicate: bool | None = Field(
        None, description="true: a task with this task_id was already queued (nothing new)"
    )


class ErrorResponse(BaseModel):
    error: str = Field(description="what was wrong, for people")
    detail: Any = Field(None, description="the validation errors, when there are any")


class TaskPage(BaseModel):
    total: int = Field(description="tasks matching the filters")
    exact: bool | None = Field(
        None, description="false: a free-text search stopped at a full page, total is a lower bound"
    )
    offset: int
    limit: int
    tasks: list[TaskState] = Field(description="newest first, without their history")


class WorkerList(BaseModel):
    workers: list[WorkerInfo]


class WorkerOrder(BaseModel):
    """An order sent to a worker over the control channel."""

    worker: str
    order: str
    """``drain`` or ``stop``."""
    heard: int
    """How many workers were listening to the control channel when it was sent."""


class Health(BaseModel):
    status: str
    broker: str
    error: str | None = None


class Stats(BaseModel):
    tasks: dict[str, int] = Field(description="retained tasks by current status")
    retained: int = Field(description="tasks whose state is kept")
    complete: bool = Field(
        description="whether the manager follows task_updates yet (what a Go service "
        "publishes is recorded from then on); the figures are read from Redis on each "
        "request, whole from the start"
    )
    totals: dict[str, int] = Field(
        description="all-time counters: submitted, completed, failed, cancelled, …"
    )
    queue: dict[str, int] = Field(
        description="stream length, lag (not yet delivered), pending (delivered, unacked)"
    )
    workers: dict[str, int] = Field(description="online and listed workers")
    last_minute: dict[str, Any] = Field(
        description="from the per-minute counts of this minute and the previous one "
        "(window: the seconds they cover, 60 to 120): finished counts, throughput "
        "(completed/s), latency (s, submission to finish) of completed and failed: mean, "
        "p50, p95 from a histogram, max the upper bound of the slowest one's bucket"
    )
