"""OpenTelemetry traces: the pipeline's steps as spans under the SDK's span for each MCP request.

The `mcp` SDK opens one server span per request (`tools/call NAME`), parented on the client's trace
context from `_meta.traceparent`; the steps here (`omni_mcp.authorize`, `omni_mcp.plugin`, ...) open
inside it, so one trace shows the client, the SDK and the gateway. Without an OpenTelemetry SDK set up
the API is a no-op. `tracing.enabled` sets one up from the `omni-mcp[otel]` extra, exporting over OTLP
as the standard OTEL_* variables say (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from loguru import logger
from opentelemetry import trace

from omni_mcp.errors import StartupError

_tracer = trace.get_tracer("omni_mcp")


@contextlib.contextmanager
def step(name: str, **attributes: str) -> Iterator[None]:
    """A span for one step of the request pipeline (a child of the current span)."""
    with _tracer.start_as_current_span(f"omni_mcp.{name}", attributes=attributes):
        yield


def configure_tracing() -> None:
    """Install an SDK tracer provider exporting over OTLP/HTTP, unless the host already installed one."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        logger.info("tracing: using the tracer provider already installed")
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise StartupError(
            "tracing.enabled needs the OpenTelemetry SDK: pip install 'omni-mcp[otel]'"
        ) from None
    service = os.environ.get("OTEL_SERVICE_NAME", "omni-mcp")  # passed attributes would beat the variable
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint etc. from OTEL_*
    trace.set_tracer_provider(provider)
    logger.info("tracing: exporting spans over OTLP")


def flush_tracing() -> None:
    """Export the spans still buffered (the API's provider has nothing to flush)."""
    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if callable(flush):
        flush()
