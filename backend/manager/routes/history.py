"""``GET /stats/history``: per-minute counts and latency percentiles over a range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.history import History, Range
from backend.manager.schemas import ErrorResponse
from backend.manager.services import Svc

router = APIRouter(tags=["cluster"])


@router.get(
    "/stats/history",
    response_model=History,
    response_model_exclude_none=True,
    responses={503: {"model": ErrorResponse}},
    summary="Submitted, completed, failed, retried tasks and latency percentiles per "
    "point: a minute over 1h, 5 minutes over 24h, an hour over 7d",
)
async def stats_history(
    svc: Svc, range: Annotated[Range, Query(description="1h, 24h or 7d")] = "1h"
) -> History:
    return await svc.store.history(range)
