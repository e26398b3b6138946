"""Prometheus metrics of one process: what it served, how long calls took, and the state of its queues.

Label values are bounded: MCP methods outside the protocol's list are "other", tools and prompts not
served here are "unknown", resources are not labelled by URI, and the organization label exists only
when the operator turns it on. With $PROMETHEUS_MULTIPROC_DIR set (several worker processes), values
live in that folder and every process's scrape shows the sum of all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from omni_mcp.audit.calls import ObservedCall
from omni_mcp.gateway.capabilities import CapabilityMap

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
MCP_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "server/discover",
        "tools/list",
        "tools/call",
        "prompts/list",
        "prompts/get",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "completion/complete",
        "logging/setLevel",
        "subscriptions/listen",
        "notifications/initialized",
        "notifications/cancelled",
        "notifications/progress",
        "notifications/roots/list_changed",
    }
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def method_label(method: str) -> str:
    return method if method in MCP_METHODS else "other"


class Metrics:
    """The metrics of one application; `capabilities` names what may appear as a tool or prompt label."""

    def __init__(
        self, capabilities: Callable[[], CapabilityMap], *, organization_label: bool = False
    ) -> None:
        self._capabilities = capabilities
        self._organization_label = organization_label
        self.registry = CollectorRegistry(auto_describe=True)
        call_labels = ["kind", "name", *(["organization"] if organization_label else [])]
        metric: dict[str, Any] = {"registry": self.registry}
        self.requests = Counter(
            "omni_mcp_requests", "MCP requests and notifications handled, by method and outcome",
            ["method", "outcome"], **metric,
        )  # fmt: skip
        self.http_responses = Counter(
            "omni_mcp_http_responses", "HTTP responses, by status code", ["status"], **metric
        )
        self.calls = Counter(
            "omni_mcp_calls", "Tool calls, prompt gets and resource reads, by outcome",
            [*call_labels, "outcome"], **metric,
        )  # fmt: skip
        self.call_seconds = Histogram(
            "omni_mcp_call_duration_seconds", "Time a tool call, prompt get or resource read took",
            call_labels, buckets=LATENCY_BUCKETS, **metric,
        )  # fmt: skip
        self.plugin_errors = Counter(
            "omni_mcp_plugin_errors", "Calls that failed inside a plugin or its upstream service",
            ["plugin"], **metric,
        )  # fmt: skip
        self.cache = Counter(
            "omni_mcp_config_cache",
            "Organization configuration cache lookups, by result",
            ["result"],
            **metric,
        )
        self.audit_pending = Gauge(
            "omni_mcp_audit_queue_depth", "Call audit records waiting to be written",
            multiprocess_mode="livesum", **metric,
        )  # fmt: skip
        self.audit_records = Counter(
            "omni_mcp_audit_records", "Call audit records, by fate (written or dropped)", ["fate"], **metric
        )
        self.sessions = Gauge(
            "omni_mcp_sessions_open", "Handshake-era sessions open", multiprocess_mode="livesum", **metric
        )
        self.streams = Gauge(
            "omni_mcp_streams_open", "Streams open: handshake-era GET streams and subscriptions/listen",
            ["kind"], multiprocess_mode="livesum", **metric,
        )  # fmt: skip
        self._seen: dict[tuple[int, str], int] = {}
        self.before_render: Callable[[], None] | None = None
        """Brings sampled values (queue depths, cache statistics) up to date before a scrape."""

    def observe_call(self, call: ObservedCall) -> None:
        """An audit observer: count and time every call by a bounded name."""
        capabilities = self._capabilities()
        name, plugin = _bounded_name(capabilities, call.kind, call.name)
        labels = [call.kind, name, *([call.organization] if self._organization_label else [])]
        self.calls.labels(*labels, call.outcome).inc()
        self.call_seconds.labels(*labels).observe(call.seconds)
        if call.outcome == "error" and plugin is not None:
            self.plugin_errors.labels(plugin).inc()

    def count_total(self, counter: Counter, label: str, total: int) -> None:
        """Bring a counter up to a running total kept elsewhere (cache and audit statistics)."""
        key = (id(counter), label)
        delta = total - self._seen.get(key, 0)
        if delta > 0:
            counter.labels(label).inc(delta)
        self._seen[key] = total

    def render(self) -> bytes:
        """The text exposition: this process's metrics, or every process's in multi-process mode."""
        if self.before_render is not None:
            self.before_render()
        if not multiprocess_enabled():
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def _bounded_name(capabilities: CapabilityMap, kind: str, name: str) -> tuple[str, str | None]:
    """The label for a call's name and the plugin that served it (None if no plugin owns it)."""
    if kind == "tool":
        tool = capabilities.tools.get(name)
        return (name, tool.plugin) if tool else ("unknown", None)
    if kind == "prompt":
        prompt = capabilities.prompts.get(name)
        return (name, prompt.plugin) if prompt else ("unknown", None)
    return "-", None  # resource URIs are unbounded
