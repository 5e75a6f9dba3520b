"""``distritask manager``: the HTTP API to submit and inspect tasks (FastAPI + uvicorn).

Listens on ``HOST:PORT`` (default 127.0.0.1:8080). Routes: ``POST /submit``,
``GET /tasks``, ``GET /tasks/{id}``, ``POST /tasks/{id}/cancel``,
``POST /tasks/{id}/retry``, ``POST /tasks/bulk``, ``GET /dead-letters``,
``POST /dead-letters/requeue``, ``POST /dead-letters/delete``, ``GET /workers``,
``GET /stats``, ``GET /health``, ``GET /metrics``, and the OpenAPI schema
(``/openapi.json``; ``/docs`` and ``/redoc``, whose assets are served locally). With
no ``REDIS_URL`` it starts (or joins) the embedded server. ``DISTRITASK_API_TOKEN``
(or ``--api-token``; the environment keeps it out of the process list) guards the
``POST`` routes; with or without it, they refuse a foreign web ``Origin`` (403) and a
body that is not JSON (415).
"""

from __future__ import annotations

import argparse
import signal
from types import FrameType

from backend.config import Settings
from backend.setting_flags import add_setting_flags

DEFAULT_PORT = 8080
ALERT_SETTINGS = (
    "alert_no_consumer_after",
    "alert_failure_rate",
    "alert_broker_down_after",
    "alert_memory_bytes",
    "alert_repeat",
    "alert_check_every",
)
"""The alert thresholds and how often they are checked (see :mod:`backend.alerts`);
flags of the manager."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_flags(
        parser,
        "host",
        "port",
        "allowed_origin",
        "allowed_tasks",
        "max_body",
        "max_submit_bytes",
        "max_retries",
        "retention",
        "data_dir",
        "broker_port",
        "api_token",
        "submit_replicas",
        "submit_replicas_timeout",
        *ALERT_SETTINGS,
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM (uvicorn turns both into a graceful stop)."""
    import uvicorn

    from backend.broker import use_broker
    from backend.manager.app import create_app

    with use_broker(settings) as broker:
        config = uvicorn.Config(
            create_app(settings, broker.url),
            host=settings.host,
            port=settings.port or DEFAULT_PORT,
            log_level=settings.log_level.lower(),
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises the signal that stopped it once it has shut down; with
        # these handlers that ends here, so the embedded server below is stopped too.
        previous = {sig: signal.signal(sig, _noted) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0 if server.started else 1


def _noted(signum: int, frame: FrameType | None) -> None:
    """A stop signal re-raised after the graceful shutdown: nothing left to do."""
