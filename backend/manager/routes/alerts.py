"""``GET /alerts``: the alerts the manager's engine raised (see :mod:`backend.alerts`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from backend.alerts import Alert
from backend.manager.services import Svc

router = APIRouter(tags=["cluster"])


class AlertList(BaseModel):
    alerts: list[Alert]


@router.get(
    "/alerts",
    response_model=AlertList,
    summary="Alerts, newest first: active ones and the newest resolved (resolved: null "
    "while the condition holds)",
)
async def alerts(
    svc: Svc, active: Annotated[bool, Query(description="only those still active")] = False
) -> AlertList:
    return AlertList(alerts=svc.alerts.alerts(active_only=active))
