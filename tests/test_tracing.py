"""One tools/call, traced: the gateway's steps sit under the SDK's server span, in the client's trace."""

from __future__ import annotations

from collections.abc import Iterator

import mcp
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

pytestmark = pytest.mark.anyio
PIPELINE_STEPS = {"omni_mcp.org_config", "omni_mcp.authorize", "omni_mcp.rate_limit", "omni_mcp.plugin"}


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (settable once), recording in memory; stopped after this module."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        pytest.skip("another tracer provider is already installed in this test process")
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    yield memory
    provider.shutdown()  # later tests' spans are no longer kept


@pytest.fixture(scope="module")
def traced(exporter: InMemorySpanExporter) -> Iterator[RunningGateway]:
    with fresh_database_url() as url:
        settings = make_test_settings(url, tracing={"enabled": True})  # uses the provider installed above
        with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
            yield running


async def test_a_tool_call_is_traced_under_the_clients_trace(
    traced: RunningGateway, exporter: InMemorySpanExporter, era: str
) -> None:
    exporter.clear()
    with trace.get_tracer("test-client").start_as_current_span("client work") as client_span:
        async with mcp.Client(traced.mcp_url, mode=era) as client:  # type: ignore[arg-type]
            assert not (await client.call_tool("demo_sync_add", {"a": 1, "b": 2})).is_error
    trace_id = client_span.get_span_context().trace_id
    spans = exporter.get_finished_spans()

    [server_span] = [s for s in spans if s.kind == SpanKind.SERVER and s.name == "tools/call demo_sync_add"]
    assert server_span.context is not None and server_span.context.trace_id == trace_id
    assert (
        server_span.attributes is not None and server_span.attributes["gen_ai.tool.name"] == "demo_sync_add"
    )
    steps: dict[str, ReadableSpan] = {s.name: s for s in spans if s.name in PIPELINE_STEPS}
    assert set(steps) == PIPELINE_STEPS
    for name, span in steps.items():
        assert span.context is not None and span.context.trace_id == trace_id, name
        assert span.parent is not None and span.parent.span_id == server_span.context.span_id, name
