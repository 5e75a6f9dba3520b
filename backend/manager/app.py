"""The manager's ASGI app: :func:`create_app` wires settings, Redis, routes, limits.

Middleware, outermost first: CORS (as the original: ``ALLOWED_ORIGIN``, preflight
answered, also on error answers), request metrics, the cross-site guard (:mod:`.guard`:
no foreign origin, no body that is not JSON on mutating routes), the body size limit. The
lifespan opens the Redis clients and the :class:`~backend.store.TaskStore`,
creates the worker group, records what only ``task_updates`` tells (:mod:`.recording`;
the manager holds no state per task: its figures and listings read Redis' indexes), and
runs a
:class:`~backend.promoter.Promoter` (delayed tasks, retries and periodic tasks are
queued on time while any manager or worker is alive).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from backend import __version__, connection
from backend.access import Access
from backend.alerts import AlertEngine, AlertWatch, Thresholds
from backend.broker_url import describe
from backend.config import Settings
from backend.manager import errors
from backend.manager.guard import CrossSiteGuard
from backend.manager.limits import BodyLimit
from backend.manager.metrics import Metrics, RequestMetrics
from backend.manager.recording import follow
from backend.manager.routes import (
    alerts,
    cluster,
    console,
    history,
    queues,
    schedules,
    tasks,
    workers,
)
from backend.manager.services import Services
from backend.outage import Outage
from backend.policy import SubmitPolicy
from backend.promoter import Promoter
from backend.store import TaskStore

log = logging.getLogger(__name__)

DOCS_ASSETS = "/docs-assets"
"""Where the documentation pages' scripts and styles are served (fastapi-offline)."""
DESCRIPTION = """\
Submit tasks to a Distritask cluster and watch it. `POST /submit` with no body or `{}`
queues one `deploy_node` task, as the original Go manager did. When the manager has
a `DISTRITASK_API_TOKEN`, `POST` routes need it as a bearer token. A `POST` from a web
page of another origin than `ALLOWED_ORIGIN` gets 403, and a body that is not
`application/json` gets 415. Errors are JSON: `{"error": "..."}`."""


def create_app(settings: Settings, redis_url: str) -> FastAPI:
    """The manager for the broker at ``redis_url``."""
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = connection.client(redis_url, cluster=settings.cluster)
        listener = connection.client(redis_url, timeout=None, cluster=settings.cluster)
        store = TaskStore.from_settings(redis, settings)
        thresholds = Thresholds.from_settings(settings)
        engine = AlertEngine(thresholds.repeat)
        services = app.state.services = Services(
            settings,
            redis_url,
            store,
            SubmitPolicy.from_settings(settings),
            metrics,
            alerts=engine,
        )
        try:
            await store.ensure_group()
        except connection.BROKER_DOWN as exc:
            log.warning(
                "broker %s unreachable (%s); serving anyway, /health answers 503 until it is",
                describe(redis_url),
                exc,
            )
        following = follow(listener, store, services.following)
        follower = asyncio.create_task(following, name="recording")
        watch = AlertWatch(
            lambda: store,
            engine,
            thresholds,
            where=describe(redis_url),
            every=settings.alert_check_every,
        )
        watcher = asyncio.create_task(watch.run(), name="alerts")
        outage = Outage(describe(redis_url), log)
        promoter = asyncio.create_task(Promoter(store, outage).run(), name="promoter")
        try:
            yield
        finally:
            for task in (follower, watcher, promoter):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await listener.aclose()
            await redis.aclose()

    # /docs and /redoc with their assets served from this process, not a CDN: they
    # work offline and on machines that may not reach the internet
    app = FastAPIOffline(
        title="Distritask manager",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
    )
    errors.install(app)
    app.include_router(console.router)  # before tasks: /tasks/bulk is not a task id
    app.include_router(tasks.router)
    app.include_router(cluster.router)
    app.include_router(history.router)
    app.include_router(alerts.router)
    app.include_router(queues.router)
    app.include_router(schedules.router)
    app.include_router(workers.router)
    access = Access(settings.allowed_origin, settings.api_token)
    app.state.access = access  # the token check (auth.py) and the cross-site guard agree
    app.add_middleware(BodyLimit, max_body=settings.max_body)
    app.add_middleware(CrossSiteGuard, access=access)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[access.allowed_origin],
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization"],
    )
    return app
