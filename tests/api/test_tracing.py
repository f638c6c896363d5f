"""Optional OpenTelemetry tracing: off by default, and with TRACING=true a request makes spans."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from settings import Settings
from tests.support.client import token
from tests.support.servers import in_process


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider, set once, exporting to memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter


def test_tracing_is_off_by_default() -> None:
    assert Settings.model_fields["tracing"].default is False


async def test_with_tracing_on_an_operation_is_a_span(
    spans: InMemorySpanExporter, settings: Settings, mongo_uri: str, http: httpx.AsyncClient
) -> None:
    traced = settings.model_copy(update={"tracing": True})
    async with in_process(traced, mongo_uri) as server:
        response = await http.post(
            f"{server.url}/graphql",
            json={"query": "query TracedProbe { program { name } }"},
            headers={"authorization": f"Bearer {token(settings)}"},
        )
    assert response.json()["data"]["program"]["name"]
    names = [span.name for span in spans.get_finished_spans()]
    assert any("TracedProbe" in name for name in names), names
