"""Rate limits (memory and Redis across processes), call audit, security headers and CORS."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import mcp
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from sqlmodel import Session, col, select

from omni_mcp.audit.models import CallLog
from omni_mcp.ratelimit.limiter import RATE_LIMITED
from omni_mcp.settings import Settings
from omni_mcp.testing import RunningGateway, free_port, make_test_settings, serve_in_thread
from tests.sample_plugins import CrmPlugin, EchoPlugin, HeaderActorPlugin
from tests.test_cli import wait_for_health
from tests.test_multiprocess import REDIS_URL, base_env, redis_available

pytestmark = pytest.mark.anyio


def with_sections(settings: Settings, **sections: dict[str, Any]) -> Settings:
    data = settings.model_dump(by_alias=True)
    data["security"]["encryption_keys"] = [k.get_secret_value() for k in settings.security.encryption_keys]
    for name, values in sections.items():
        data[name].update(values)
    return Settings.model_validate(data)


@contextlib.asynccontextmanager
async def client_as(
    gateway: RunningGateway, actor_id: str, org: str = "default"
) -> AsyncIterator[mcp.Client]:
    http = httpx2.AsyncClient(
        headers={"x-test-organization": org, "x-test-id": actor_id, "x-test-role": "owner"}
    )
    async with (
        http,
        mcp.Client(
            streamable_http_client(gateway.mcp_url, http_client=http), mode="2026-07-28", cache=None
        ) as client,
    ):
        yield client


def statuses(url: str, count: int, headers: dict[str, str] | None = None) -> list[int]:
    return [httpx.get(url, headers=headers or {}).status_code for _ in range(count)]


def test_callers_over_their_limit_get_429_with_retry_after(omni_settings: Settings) -> None:
    settings = with_sections(
        omni_settings, rate_limit={"enabled": True, "per_caller_per_minute": 1, "caller_burst": 3}
    )
    with serve_in_thread(settings) as running:
        assert statuses(running.base_url + "/nothing-here", 3) == [404, 404, 404]
        refused = httpx.post(running.mcp_url, json={"jsonrpc": "2.0", "id": "l-9", "method": "tools/list"})
        assert refused.status_code == 429
        retry = int(refused.headers["retry-after"])
        assert retry >= 1
        error = refused.json()["error"]
        assert refused.json()["id"] == "l-9"  # the refused request's own id
        assert error["code"] == RATE_LIMITED
        assert error["data"] == {"retryAfter": retry}
        assert error["message"].startswith("Rate limit exceeded; retry after")
        assert statuses(running.base_url + "/health", 5) == [200] * 5  # health checks are never limited


def test_an_organization_limit_spans_its_callers(omni_settings: Settings) -> None:
    settings = with_sections(
        omni_settings,
        rate_limit={"enabled": True, "per_organization_per_minute": 1, "organization_burst": 4},
    )
    with serve_in_thread(settings, [("auth", HeaderActorPlugin())]) as running:
        url = running.base_url + "/nothing-here"
        codes = [
            httpx.get(url, headers={"x-test-organization": "default", "x-test-id": f"user-{i}"}).status_code
            for i in range(6)
        ]
    assert codes == [404, 404, 404, 404, 429, 429]


async def test_a_per_tool_limit_is_an_mcp_error_inside_the_call(omni_settings: Settings) -> None:
    settings = with_sections(
        omni_settings, rate_limit={"enabled": True, "per_tool_per_minute": {"demo_echo": 12}}
    )
    with serve_in_thread(settings, [("auth", HeaderActorPlugin()), ("demo", EchoPlugin())]) as running:
        async with client_as(running, "alice") as client:
            for _ in range(2):  # a burst of ten seconds' worth: 12/min -> 2
                assert not (await client.call_tool("demo_echo", {"text": "x"})).is_error
            with pytest.raises(MCPError) as refused:
                await client.call_tool("demo_echo", {"text": "x"})
            other_tool = await client.call_tool("demo_sync_add", {"a": 1, "b": 2})
        async with client_as(running, "bob") as client:  # another caller has its own bucket
            assert not (await client.call_tool("demo_echo", {"text": "x"})).is_error
    assert refused.value.code == RATE_LIMITED
    assert refused.value.data["retryAfter"] >= 1
    assert not other_tool.is_error


def test_rate_limits_hold_across_two_processes_sharing_redis(omni_database_url: str) -> None:
    if not redis_available():
        pytest.skip(f"needs Redis at {REDIS_URL} (set OMNI_MCP_TEST_REDIS_URL; CI runs one)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = base_env(
        omni_database_url,
        OMNI_MCP_REDIS__URL=REDIS_URL,
        OMNI_MCP_RATE_LIMIT__PER_CALLER_PER_MINUTE="1",
        OMNI_MCP_RATE_LIMIT__CALLER_BURST="4",
    )
    processes = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            processes.append((f"http://127.0.0.1:{port}", process))
        for base, process in processes:
            wait_for_health(base, process)
        codes = []
        for _ in range(3):  # alternate between the processes: 6 requests, one bucket of 4
            for base, _process in processes:
                codes.append(httpx.get(base + "/nothing-here").status_code)
    finally:
        for _base, process in processes:
            process.terminate()
        for _base, process in processes:
            process.communicate(timeout=30)
    assert codes.count(404) == 4
    assert codes.count(429) == 2


async def test_every_call_is_audited_and_written_at_shutdown(omni_settings: Settings) -> None:
    # A flush interval far beyond the test: only the shutdown flush can write these records.
    settings = with_sections(omni_settings, audit={"flush_seconds": 3600})
    plugins = [("auth", HeaderActorPlugin()), ("crm", CrmPlugin()), ("demo", EchoPlugin())]
    with serve_in_thread(settings, plugins) as running:
        engine = running.runtime.engine
        http = httpx2.AsyncClient(
            headers={"x-test-organization": "default", "x-test-id": "m", "x-test-role": "member"}
        )
        async with (
            http,
            mcp.Client(streamable_http_client(running.mcp_url, http_client=http), mode="legacy") as client,
        ):
            await client.call_tool("demo_echo", {"text": "secret words"})
            await client.call_tool("demo_crash", {})
            with pytest.raises(MCPError):
                await client.call_tool("crm_purge", {})
            await client.get_prompt("crm_follow_up", {"customer": "Bob"})
            await client.read_resource("crm://playbook")
        with Session(engine) as session:
            assert session.exec(select(CallLog)).all() == []  # nothing written on the response path
    with Session(engine) as session:
        rows = session.exec(select(CallLog).order_by(col(CallLog.id))).all()
    engine.dispose()  # the server already disposed it once; this read opened a new connection
    assert [(r.kind, r.name, r.outcome, r.actor) for r in rows] == [
        ("tool", "demo_echo", "ok", "user:m"),
        ("tool", "demo_crash", "error", "user:m"),
        ("tool", "crm_purge", "denied", "user:m"),
        ("prompt", "crm_follow_up", "ok", "user:m"),
        ("resource", "crm://playbook", "ok", "user:m"),
    ]
    assert rows[0].arguments == {"text": "********"}  # redacted unless the organization opts in
    assert all(r.duration_ms >= 0 for r in rows)


async def test_an_organization_can_opt_in_to_argument_auditing(omni_settings: Settings) -> None:
    settings = with_sections(omni_settings, audit={"flush_seconds": 0.05})
    with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
        running.configure(lambda t: t.set_audit_arguments("default", True, actor="test"))
        async with mcp.Client(running.mcp_url, mode="2026-07-28") as client:
            await client.call_tool("demo_echo", {"text": "kept", "times": 2})
    with Session(running.runtime.engine) as session:
        row = session.exec(select(CallLog)).one()
    running.runtime.engine.dispose()  # the server already disposed it; this read opened a new connection
    assert row.arguments == {"text": "kept", "times": 2}


def test_security_headers_on_json_and_mcp_responses(gateway: RunningGateway) -> None:
    health = httpx.get(gateway.base_url + "/health")
    mcp_response = httpx.post(gateway.mcp_url, content=b"{}", headers={"content-type": "application/json"})
    for response in (health, mcp_response):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
    assert "traceback" not in mcp_response.text.lower()


def test_cors_is_off_by_default_and_answers_preflight_when_configured(omni_settings: Settings) -> None:
    preflight = {
        "origin": "http://localhost:6274",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,mcp-protocol-version",
    }
    with serve_in_thread(omni_settings) as running:
        assert "access-control-allow-origin" not in httpx.options(running.mcp_url, headers=preflight).headers
    settings = with_sections(omni_settings, cors={"allow_origins": ["http://localhost:6274"]})
    with serve_in_thread(settings) as running:
        answer = httpx.options(running.mcp_url, headers=preflight)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "http://localhost:6274"
        assert "mcp-protocol-version" in answer.headers["access-control-allow-headers"].lower()
        other = httpx.options(running.mcp_url, headers={**preflight, "origin": "http://127.0.0.1:9"})
        assert other.headers.get("access-control-allow-origin") is None


def test_test_settings_leave_rate_limits_off() -> None:
    assert make_test_settings("sqlite://").rate_limit.enabled is False
