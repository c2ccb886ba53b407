"""OpenTelemetry tracing, when OTEL_EXPORTER_OTLP_ENDPOINT names a collector.

FastAPI's own OpenTelemetry support makes the spans: a server span per request named
after its route template, with spans of its dependencies, endpoint and serialization.
They are sent over OTLP/HTTP in batches by a background thread, never from the event
loop. Unset, FastAPI's telemetry is switched off entirely, whatever global provider a
library may install. The exporter also honours the standard OTEL_EXPORTER_OTLP_HEADERS
and OTEL_EXPORTER_OTLP_TIMEOUT variables of the environment.
"""

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi.telemetry import TelemetryConfig

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# Probes and scrapes every few seconds would bury the traces worth reading.
UNTRACED_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})


def traces_url(endpoint: str) -> str:
    """The traces URL under a collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT means it."""
    return f"{endpoint.rstrip('/')}/v1/traces"


def create_tracer_provider(endpoint: str, service_name: str) -> "TracerProvider":
    # Imported here: the SDK and its exporter take about 130 ms to import, which only a
    # traced service should pay, at every worker's start.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    # The app's own provider, not the global one: tests build many apps per process.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    return provider


def is_untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def telemetry_config(provider: "TracerProvider | None") -> TelemetryConfig:
    """FastAPI's telemetry: traces to the provider, if any; its metrics and logs stay off
    (metrics come from /metrics; its logs could carry rejected input such as passwords)."""
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False}
    return {"tracer_provider": provider, "metrics": False, "logs": False, "exclude": is_untraced}


async def shutdown_tracing(provider: "TracerProvider | None") -> None:
    if provider is not None:
        # Sends the spans still queued, over HTTP: blocking, so in a worker thread.
        await anyio.to_thread.run_sync(provider.shutdown)
