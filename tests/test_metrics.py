"""Prometheus metrics after a real load, scraped and parsed with prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import mcp
import pytest
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from omni_mcp.settings import Settings
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.conftest import ERAS
from tests.sample_plugins import EchoPlugin

pytestmark = pytest.mark.anyio
TOKEN = "scrape-me-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def metered() -> Iterator[RunningGateway]:
    with fresh_database_url() as url:
        settings = make_test_settings(url, metrics={"enabled": True, "token": TOKEN})
        with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
            yield running


def scrape(url: str, token: str | None = TOKEN) -> Samples:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


async def call_load(url: str, era: str, ok: int, crashes: int) -> None:
    async with mcp.Client(url, mode=era) as client:  # type: ignore[arg-type]
        for i in range(ok):
            result = await client.call_tool("demo_sync_add", {"a": i, "b": 1})
            assert not result.is_error
        for _ in range(crashes):
            assert (await client.call_tool("demo_crash", {})).is_error
        await client.list_tools()


def test_metrics_need_the_token(metered: RunningGateway) -> None:
    url = metered.base_url + "/metrics"
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
        refused = httpx.get(url, headers=headers, timeout=10)
        assert refused.status_code == 401
        assert "omni_mcp" not in refused.text
    assert httpx.post(url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 405


async def test_scraped_metrics_match_the_calls_made(metered: RunningGateway) -> None:
    url = metered.base_url + "/metrics"
    before = scrape(url)
    made = {"legacy": (7, 2), "2026-07-28": (5, 3)}
    for era in ERAS:
        await call_load(metered.mcp_url, era, *made[era])
    after = scrape(url)

    def grew(metric: str, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    ok = sum(calls for calls, _ in made.values())
    crashes = sum(crashes for _, crashes in made.values())
    tool = {"kind": "tool"}
    assert grew("omni_mcp_calls_total", **tool, name="demo_sync_add", outcome="ok") == ok
    assert grew("omni_mcp_calls_total", **tool, name="demo_crash", outcome="error") == crashes
    assert grew("omni_mcp_call_duration_seconds_count", **tool, name="demo_sync_add") == ok
    assert grew("omni_mcp_call_duration_seconds_bucket", **tool, name="demo_sync_add", le="+Inf") == ok
    assert grew("omni_mcp_call_duration_seconds_sum", **tool, name="demo_sync_add") > 0
    assert grew("omni_mcp_plugin_errors_total", plugin="demo") == crashes
    assert grew("omni_mcp_requests_total", method="tools/call", outcome="ok") == ok
    assert grew("omni_mcp_requests_total", method="tools/call", outcome="tool_error") == crashes
    # (the client lists tools on its own too, to validate results)
    assert grew("omni_mcp_requests_total", method="tools/list", outcome="ok") >= len(ERAS)
    assert grew("omni_mcp_requests_total", method="initialize", outcome="ok") == 1  # the legacy client
    assert grew("omni_mcp_config_cache_total", result="hit") >= ok
    assert grew("omni_mcp_http_responses_total", status="200") >= ok + crashes
    assert ("omni_mcp_audit_queue_depth", frozenset()) in after
    assert ("omni_mcp_sessions_open", frozenset()) in after
    # No organization label unless the operator asks for one.
    assert all(
        "organization" not in dict(labels) for name, labels in after if name.startswith("omni_mcp_call")
    )


async def test_audit_metrics_count_the_records_written(metered: RunningGateway) -> None:
    url = metered.base_url + "/metrics"
    await call_load(metered.mcp_url, "2026-07-28", 4, 0)
    runtime = metered.runtime
    # The audit queue flushes every half second; poll until it has.
    samples = scrape(url)
    while value(samples, "omni_mcp_audit_queue_depth") > 0:
        samples = scrape(url)
    assert value(samples, "omni_mcp_audit_records_total", fate="written") == runtime.auditor.written
    assert value(samples, "omni_mcp_audit_records_total", fate="dropped") == 0


async def test_unknown_tools_and_methods_do_not_grow_the_label_set(metered: RunningGateway) -> None:
    url = metered.base_url + "/metrics"
    async with mcp.Client(metered.mcp_url, mode="2026-07-28") as client:
        for i in range(5):
            with pytest.raises(MCPError, match="Unknown tool"):
                await client.call_tool(f"no_such_tool_{i}", {})
    samples = scrape(url)
    names = {dict(labels).get("name") for name, labels in samples if name == "omni_mcp_calls_total"}
    assert not any(str(name).startswith("no_such_tool") for name in names)
    assert value(samples, "omni_mcp_calls_total", kind="tool", name="unknown", outcome="error") >= 5


async def test_organization_label_and_a_separate_port(era: str) -> None:
    with fresh_database_url() as url:
        settings = make_test_settings(url, metrics={"enabled": True, "port": 0, "organization_label": True})
        with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
            port = running.app.state.observability.metrics_port
            await call_load(running.mcp_url, era, 3, 0)
            samples = scrape(f"http://127.0.0.1:{port}/metrics", token=None)
            labels = {"kind": "tool", "name": "demo_sync_add", "organization": "default"}
            assert value(samples, "omni_mcp_calls_total", **labels, outcome="ok") == 3
            # Not on the main port, where only MCP callers are served.
            assert "omni_mcp_calls_total" not in httpx.get(running.base_url + "/metrics", timeout=10).text


def test_metrics_are_never_open_to_the_world() -> None:
    with pytest.raises(ValidationError, match=r"metrics.token or a separate metrics.port"):
        Settings.model_validate({"metrics": {"enabled": True}})
    assert not Settings().metrics.enabled
