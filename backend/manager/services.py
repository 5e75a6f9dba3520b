"""What the routes work with, built by the app's lifespan and found on ``app.state``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from backend.alerts import AlertEngine
from backend.config import Settings
from backend.manager.metrics import Metrics
from backend.policy import SubmitPolicy
from backend.store import TaskStore


@dataclass
class Services:
    settings: Settings
    redis_url: str
    store: TaskStore
    policy: SubmitPolicy
    metrics: Metrics
    alerts: AlertEngine = field(default_factory=AlertEngine)
    following: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the manager follows ``task_updates`` (``/stats``' ``complete``)."""


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


Svc = Annotated[Services, Depends(services)]
