"""Prometheus metrics at /metrics, when METRICS_ENABLED is set.

With the setting off (the default) nothing here runs: no middleware, no route. Requests
are labelled by route template (`/api/v1/items/{item_id}`), never by raw path, so callers
cannot create series without bound; a request that matched no route is `<unmatched>`.

Each app has its own registry (tests build many apps in one process). With several
uvicorn workers each process counts its own requests and a scrape reaches one of them:
run one worker per container when you scrape.
"""

import time
from collections.abc import Iterator

from fastapi import FastAPI, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "<unmatched>"
# Seconds: from a cached read to a password hash under load.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to the end of its response, by route template",
            ["method", "route"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class RouteTemplates:
    """The full path template of the route a request matched, prefixes included.

    The router leaves the route it matched in the scope (a mounted app: as the endpoint),
    but an included route knows only its path within its own router: the full template
    comes from FastAPI's route tree, looked up again only when routes were added.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.templates: dict[int, str] = {}

    def _index(self) -> dict[int, str]:
        templates: dict[int, str] = {}
        for context in iter_route_contexts(self.app.routes):
            route, template = context.original_route, context.path_format or UNMATCHED_ROUTE
            templates.setdefault(id(route), template)
            if isinstance(route, Mount):
                templates.setdefault(id(route.app), template)
        return templates

    def __call__(self, scope: Scope) -> str:
        matched = scope.get("route") or scope.get("endpoint")
        if matched is None:
            return UNMATCHED_ROUTE
        if id(matched) not in self.templates:
            templates = self._index()
            # Something the tree does not hold (a sub-application's route) is looked up
            # once, not on every request.
            templates.setdefault(id(matched), UNMATCHED_ROUTE)
            self.templates = templates
        return self.templates[id(matched)]


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: it costs a task per request)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, templates: RouteTemplates) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An exception that escapes the app becomes a 500 in the outer error middleware.
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], self.templates(scope), status, elapsed)


class PoolCollector(Collector):
    """The database connection pool, read at scrape time from the running app's engine."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = getattr(self.app.state, "engine", None)
        pool = getattr(engine, "pool", None)
        # No engine before the lifespan starts; other pool classes keep no such counts.
        if not isinstance(pool, QueuePool):
            return
        gauges = {
            "db_pool_size": ("Connections the pool keeps open", pool.size()),
            "db_pool_checked_out": ("Connections in use by requests", pool.checkedout()),
            "db_pool_checked_in": ("Idle connections in the pool", pool.checkedin()),
            "db_pool_overflow": ("Connections opened beyond the pool size", pool.overflow()),
        }
        for name, (documentation, value) in gauges.items():
            yield GaugeMetricFamily(name, documentation, value=value)


def install_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    registry.register(PoolCollector(app))
    app.add_middleware(
        MetricsMiddleware, metrics=HttpMetrics(registry), templates=RouteTemplates(app)
    )

    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(METRICS_PATH, metrics, include_in_schema=False)
