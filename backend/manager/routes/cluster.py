"""The cluster as a whole: ``/workers``, ``/stats``, ``/health``, ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from backend.broker_url import describe
from backend.manager.metrics import CONTENT_TYPE
from backend.manager.schemas import ErrorResponse, Health, Stats, WorkerList
from backend.manager.services import Services, Svc

router = APIRouter(tags=["cluster"])

HEALTH_TIMEOUT = 2.0
"""Seconds ``/health`` waits for the broker's answer."""
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"model": ErrorResponse}}


@router.get(
    "/workers",
    response_model=WorkerList,
    responses=_UNAVAILABLE,
    summary="Workers alive, and those offline for less than an hour",
)
async def workers(svc: Svc) -> WorkerList:
    found = await svc.store.workers()
    found.sort(key=lambda info: (not info.online, info.name))
    return WorkerList(workers=found)


@router.get("/stats", response_model=Stats, responses=_UNAVAILABLE, summary="Cluster figures")
async def stats(svc: Svc) -> dict[str, Any]:
    return await gather_stats(svc)


async def gather_stats(svc: Services) -> dict[str, Any]:
    """Counts by status, all-time totals, queue depth and lag, workers, last minute:
    read from Redis on each call (the status indexes' sizes, the counters, the minute
    counts), so they cost the same at any retention and are whole from the start;
    ``complete`` says whether the manager follows ``task_updates`` yet (until it does,
    a Go service's updates are not recorded)."""
    statuses, retained = await svc.store.status_counts()
    totals = await svc.store.counters()
    queue = await svc.store.queue_depth()
    listed = await svc.store.workers()
    return {
        "tasks": {status.value: count for status, count in statuses.items()},
        "retained": retained,
        "complete": svc.following.is_set(),
        "totals": totals,
        "queue": queue,
        "workers": {"online": sum(w.online for w in listed), "listed": len(listed)},
        "last_minute": await svc.store.recent(),
    }


@router.get(
    "/health",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health}},
    summary="200 while the broker answers, 503 otherwise",
)
async def health(svc: Svc) -> Any:
    broker = describe(svc.redis_url)
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await svc.store.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        body = Health(status="unavailable", broker=broker, error=reason)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    return Health(status="ok", broker=broker)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}, 503: {"model": ErrorResponse}},
    summary="Prometheus metrics (text format)",
)
async def metrics(svc: Svc) -> Response:
    figures = await gather_stats(svc)
    svc.metrics.cluster.figures = {
        "tasks": figures["tasks"],
        "totals": figures["totals"],
        "queue": figures["queue"],
        "workers_online": figures["workers"]["online"],
        "throughput": figures["last_minute"]["throughput"],
        "alerts": {kind.value: n for kind, n in svc.alerts.counts().items()},
    }
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE)
