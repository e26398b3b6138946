"""Metrics and tracing for one application, plugged in where the app is composed (and nowhere else)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import anyio
from loguru import logger
from mcp.server.lowlevel.server import Server
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.middleware import Middleware

from omni_mcp.observability.metrics import Metrics, multiprocess_enabled
from omni_mcp.observability.metrics_http import MetricsMiddleware, count_requests
from omni_mcp.observability.tracing import configure_tracing, flush_tracing
from omni_mcp.runtime import Runtime
from omni_mcp.settings import Settings

SAMPLE_SECONDS = 1.0
"""How often queue depths and cache statistics are copied into the metrics."""


class Observability:
    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime
        options = settings.metrics
        self.metrics = (
            Metrics(lambda: runtime.capabilities, organization_label=options.organization_label)
            if options.enabled
            else None
        )
        if self.metrics is not None:
            self.metrics.before_render = self.sample
        self.open_sessions: Callable[[], int] | None = None
        """How many handshake-era sessions are open (the gateway's session guard knows; the SDK does not
        say)."""
        self._port_server: Any = None

    def middleware(self) -> list[Middleware]:
        if self.metrics is None:
            return []
        options = self._settings.metrics
        on_main_port = options.port is None and options.token is not None
        token = options.token.get_secret_value() if on_main_port and options.token else None
        return [
            Middleware(
                MetricsMiddleware, metrics=self.metrics, mcp_path=self._settings.gateway.path, token=token
            )
        ]

    def start(self, server: Server[Any]) -> None:
        """Hook into the MCP server and the call audit; open the metrics port; set up tracing."""
        if self._settings.tracing.enabled:
            configure_tracing()
        if self.metrics is None:
            return
        server.middleware.append(count_requests(self.metrics))
        self._runtime.auditor.observers.append(self.metrics.observe_call)
        port = self._settings.metrics.port
        if port is not None:
            registry = self.metrics.registry
            if multiprocess_enabled():
                registry = CollectorRegistry()
                MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            host = self._settings.metrics.host
            self._port_server, _thread = start_http_server(port, addr=host, registry=registry)
            logger.info("metrics on http://{}:{}/metrics", host, self._port_server.server_port)

    @property
    def metrics_port(self) -> int | None:
        """The separate metrics port actually bound (port 0 picks one)."""
        return int(self._port_server.server_port) if self._port_server is not None else None

    async def run(self) -> None:
        """Copy queue depths and cache statistics into the metrics, every second, until cancelled."""
        if self.metrics is None:
            return
        while True:
            self.sample()
            await anyio.sleep(SAMPLE_SECONDS)

    def sample(self) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        runtime = self._runtime
        stats = runtime.org_configs.stats
        metrics.count_total(metrics.cache, "hit", stats.hits)
        metrics.count_total(metrics.cache, "miss", stats.misses)
        metrics.count_total(metrics.cache, "invalidation", stats.invalidations)
        metrics.audit_pending.set(runtime.auditor.pending)
        metrics.count_total(metrics.audit_records, "written", runtime.auditor.written)
        metrics.count_total(metrics.audit_records, "dropped", runtime.auditor.dropped)
        if self.open_sessions is not None:
            metrics.sessions.set(self.open_sessions())

    def close(self) -> None:
        if self._port_server is not None:
            self._port_server.shutdown()
            self._port_server.server_close()
            self._port_server = None
        if self.metrics is not None and multiprocess_enabled():
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # this process's live gauges leave the sum
        if self._settings.tracing.enabled:
            flush_tracing()
