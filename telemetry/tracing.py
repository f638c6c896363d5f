"""Optional OpenTelemetry tracing of GraphQL operations (TRACING=true), off by default.

The packages are an extra (`uv sync --extra tracing`); turning tracing on without them stops the
service at start with the reason. Spans go to the OTLP/HTTP exporter, configured by the standard
OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...), unless the process has
set a tracer provider of its own.
"""

from __future__ import annotations

from strawberry.extensions import SchemaExtension

SERVICE_NAME = "member-state-api"


class TracingUnavailable(RuntimeError):
    """TRACING=true but the OpenTelemetry packages are not installed."""


def tracing_extension() -> type[SchemaExtension]:
    """strawberry's OpenTelemetry extension, with a tracer provider in place."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from strawberry.extensions.tracing import OpenTelemetryExtension
    except ImportError as exc:
        raise TracingUnavailable(
            f"TRACING=true needs the tracing extra (uv sync --extra tracing): {exc}"
        ) from exc
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise TracingUnavailable(f"no OTLP exporter installed: {exc}") from exc
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    return OpenTelemetryExtension
