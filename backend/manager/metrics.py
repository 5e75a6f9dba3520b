"""Prometheus metrics of the manager, in the text format of the official client.

HTTP requests are counted and timed per route template (never per raw path, so ids
do not explode the label set). Cluster figures (tasks by status, all-time task
events, queue depth, workers) are read when ``/metrics`` is scraped: the route
refreshes :attr:`Metrics.cluster` and the collector reports it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD", "PUT", "PATCH", "DELETE"})

disable_created_metrics()  # no ``*_created`` series: they double the output for nothing


class ClusterCollector(Collector):
    """Reports the figures last fetched into :attr:`figures`."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}

    def collect(self) -> Iterator[Metric]:
        figures = self.figures
        tasks = GaugeMetricFamily("distritask_tasks", "Retained tasks by status", labels=["status"])
        for status, count in figures.get("tasks", {}).items():
            tasks.add_metric([status], count)
        yield tasks
        events = CounterMetricFamily(
            "distritask_task_events", "Task events since the queue began", labels=["event"]
        )
        for event, count in figures.get("totals", {}).items():
            events.add_metric([event], count)
        yield events
        queue = GaugeMetricFamily("distritask_queue", "Task stream depth", labels=["measure"])
        for measure, value in figures.get("queue", {}).items():
            queue.add_metric([measure], value)
        yield queue
        yield GaugeMetricFamily(
            "distritask_workers_online", "Workers alive", value=figures.get("workers_online", 0)
        )
        yield GaugeMetricFamily(
            "distritask_throughput",
            "Tasks completed per second over this minute and the previous one",
            value=figures.get("throughput", 0.0),
        )
        for kind, count in figures.get("alerts", {}).items():
            yield GaugeMetricFamily(
                f"distritask_alert_{kind}", f"Active {kind} alerts (see GET /alerts)", value=count
            )


class Metrics:
    """One registry per app (tests build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cluster = ClusterCollector()
        self.registry.register(self.cluster)
        self.requests = Counter(
            "distritask_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "distritask_http_request_duration_seconds",
            "Time to answer HTTP requests",
            ["method", "route"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request into ``metrics``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        began = time.perf_counter()

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - began)
