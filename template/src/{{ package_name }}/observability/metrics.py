"""Prometheus metrics at /metrics, when METRICS_ENABLED is set.

With the setting off (the default) nothing here runs: no middleware, no route. Requests
are labelled by route template (`/api/v1/items/{item_id}`), never by raw path, so callers
cannot create series without bound; a request that matched no route is `<unmatched>`.

One process (tests build many apps in one process, `serve` with one worker): each app
has its own registry, and the pool gauges are read from its engine at scrape time.

Several uvicorn workers (`serve --workers N`): prometheus-client's multiprocess mode
(https://prometheus.github.io/client_python/multiprocess/). `serve` gives the workers an
empty PROMETHEUS_MULTIPROC_DIR (`prepare_multiprocess_dir`); every worker writes its
samples to files there, and a scrape, answered by any worker, sums the files of every
worker: counters and histograms of workers that have exited included, so totals never
go back. The pool gauges are each worker's figures summed over the live workers
(`livesum`): `db_pool_size` is what the service holds against the database's
`max_connections`. A worker writes them when they changed, at the end of each request
and before answering a scrape; a worker that stops is forgotten at its lifespan's end, a
worker killed outright by the next worker that starts.
"""

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "<unmatched>"
# Seconds: from a cached read to a password hash under load.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
POOL_GAUGES = {
    "db_pool_size": "Connections the pool keeps open",
    "db_pool_checked_out": "Connections in use by requests",
    "db_pool_checked_in": "Idle connections in the pool",
    "db_pool_overflow": "Connections opened beyond the pool size",
}


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry, pool: "PoolGauges | None" = None) -> None:
        self.pool = pool
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
        if self.pool is not None:
            self.pool.refresh()


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


def pool_figures(app: FastAPI) -> dict[str, int]:
    """The pool's figures by gauge name; none before the lifespan starts (no engine yet)
    or for pool classes that keep no such counts."""
    engine = getattr(app.state, "engine", None)
    pool = getattr(engine, "pool", None)
    if not isinstance(pool, QueuePool):
        return {}
    return {
        "db_pool_size": pool.size(),
        "db_pool_checked_out": pool.checkedout(),
        "db_pool_checked_in": pool.checkedin(),
        # SQLAlchemy's counter starts at -pool_size (its room left before overflowing).
        "db_pool_overflow": max(0, pool.overflow()),
    }


class PoolCollector(Collector):
    """The database connection pool, read at scrape time from the running app's engine."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, value in pool_figures(self.app).items():
            yield GaugeMetricFamily(name, POOL_GAUGES[name], value=value)


class PoolGauges:
    """This worker's pool figures, as gauges summed over the live workers (multiprocess
    mode `livesum`). Each write goes to a memory-mapped file: only changed figures are
    written, so a request that left the pool as it found it costs none."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.gauges = {
            name: Gauge(name, documentation, registry=None, multiprocess_mode="livesum")
            for name, documentation in POOL_GAUGES.items()
        }
        self.written: dict[str, int] = {}

    def refresh(self) -> None:
        for name, value in pool_figures(self.app).items():
            if self.written.get(name) != value:
                self.gauges[name].set(value)
                self.written[name] = value


def prepare_multiprocess_dir() -> None:
    """Give the worker processes about to start an empty PROMETHEUS_MULTIPROC_DIR.

    The operator's directory (the variable set) is emptied of the files of a previous
    run, as prometheus-client requires; otherwise a temporary directory is made (under
    TMPDIR, /tmp by default) and removed when this process exits.
    """
    chosen = os.environ.get(MULTIPROCESS_DIR)
    if chosen:
        directory = Path(chosen)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return
    made = tempfile.mkdtemp(prefix="prometheus-")
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    # Read by prometheus-client when it starts, in each worker process.
    os.environ[MULTIPROCESS_DIR] = made


def forget_dead_workers(directory: str) -> None:
    """Drop the live gauges of workers that are gone without a shutdown (e.g. killed by
    the OOM killer; uvicorn starts another worker in their place)."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            # Another worker starting at the same moment may remove it first.
            with suppress(FileNotFoundError):
                mark_process_dead(pid, directory)


def count_across_workers(app: FastAPI, directory: str) -> None:
    """Wrap the app's lifespan: forget dead workers at start, this one at its end."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        forget_dead_workers(directory)
        try:
            async with inner(app):
                yield
        finally:
            mark_process_dead(os.getpid(), directory)

    app.router.lifespan_context = lifespan


def install_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        pool = PoolGauges(app)
        # The samples this process writes are read back, with every other worker's,
        # from the files: the registry of the metrics themselves is not exposed.
        exposed = CollectorRegistry()
        MultiProcessCollector(exposed, path=directory)
        count_across_workers(app, directory)
    else:
        pool = None
        registry.register(PoolCollector(app))
        exposed = registry
    http = HttpMetrics(registry, pool)
    app.add_middleware(MetricsMiddleware, metrics=http, templates=RouteTemplates(app))

    async def metrics() -> Response:
        if pool is not None:
            pool.refresh()
        return Response(generate_latest(exposed), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(METRICS_PATH, metrics, include_in_schema=False)
