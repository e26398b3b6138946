"""/health tells strangers the status only; exception texts shown or logged carry no credential; log lines
cannot be forged by a caller; DEBUG logs keep message payloads out unless an operator opts in.

A real server with local mode off, real API keys, and plugins whose failures quote a password.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import mcp
import pytest
from loguru import logger
from mcp.shared.exceptions import MCPError
from sqlmodel import Session, select

from omni_mcp import Resource, ToolGroup, hookimpl
from omni_mcp.db.models import McpServer
from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.observability.logging import PAYLOAD_LOGGERS, configure_logging
from omni_mcp.settings import LoggingSettings
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread

PASSWORD = "hunter2-very-secret"
PAYLOAD_MARKER = "tool-result-payload-7f3a"


class LeakyStartup:
    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("leakystart")

        @group.tool
        async def never() -> str:
            return "not served"

        return group

    @hookimpl
    async def startup(self) -> None:
        raise ConnectionError(f"could not connect to postgresql://svc:{PASSWORD}@db.internal/app")


class LeakyPlugin:
    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("leaky")

        @group.tool
        async def fail() -> str:
            """Fails quoting its upstream's credential."""
            raise RuntimeError(f"upstream refused the request: password={PASSWORD}")

        @group.tool
        async def payload() -> str:
            """Returns something recognisable in logs."""
            return PAYLOAD_MARKER

        return group

    @hookimpl
    def register_resources(self) -> list[Resource]:
        def read() -> str:
            raise RuntimeError(f"cannot reach redis://:{PASSWORD}@cache.internal:6379/0")

        return [Resource("leaky://state", "state", read=read)]

    @hookimpl
    def health_check(self) -> str:
        return f"login failed: password={PASSWORD}"


PLUGINS = [("leakystart", LeakyStartup()), ("leaky", LeakyPlugin())]


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with (
        fresh_database_url() as url,
        serve_in_thread(make_test_settings(url, auth={"local_mode": False}), PLUGINS) as running,
    ):
        yield running


def keys(gateway: RunningGateway) -> dict[str, str]:
    service = api_key_service(gateway.runtime)
    return {role: service.create("default", role=role, actor="test").key for role in ("member", "admin")}


def test_health_shows_strangers_the_status_only(gateway: RunningGateway) -> None:
    key = keys(gateway)
    for headers in ({}, {"x-api-key": key["member"]}):
        response = httpx.get(gateway.base_url + "/health", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"status": "degraded"}


def test_health_shows_operators_redacted_details(gateway: RunningGateway) -> None:
    response = httpx.get(gateway.base_url + "/health", headers={"x-api-key": keys(gateway)["admin"]})
    body = response.json()
    assert body["status"] == "degraded" and body["version"] and body["uptime_seconds"] >= 0
    assert PASSWORD not in response.text
    assert body["plugins"]["leakystart"] == {
        "status": "unhealthy",
        "version": "0",
        "detail": "startup failed: ConnectionError: could not connect to postgresql://svc:[redacted]@db.internal/app",
        "serving": False,
    }
    assert body["plugins"]["leaky"]["detail"] == "login failed: password=[redacted]"
    with Session(gateway.runtime.engine) as session:
        details = [row.health_detail for row in session.exec(select(McpServer)).all()]
    assert details and not any(PASSWORD in detail for detail in details)


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_exception_texts_shown_to_callers_are_redacted(gateway: RunningGateway, era: str) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"x-api-key": keys(gateway)["member"]})
    async with (
        http,
        mcp.Client(streamable_http_client(gateway.mcp_url, http_client=http), mode=era) as client,
    ):
        failed = await client.call_tool("leaky_fail", {})
        with pytest.raises(MCPError) as unreadable:
            await client.read_resource("leaky://state")
    text = failed.content[0].text  # type: ignore[union-attr]
    assert failed.is_error and text == (
        "Tool 'leaky_fail' failed: RuntimeError: upstream refused the request: password=[redacted]"
    )
    assert PASSWORD not in unreadable.value.message
    assert "redis://:[redacted]@cache.internal:6379/0" in unreadable.value.message


@pytest.fixture
def captured_logs(request: pytest.FixtureRequest) -> Iterator[tuple[io.StringIO, bool]]:
    """The served process's logging (configure_logging) at DEBUG, written to a buffer; restored after."""
    payloads: bool = request.param
    stream = io.StringIO()
    levels = {name: logging.getLogger(name).level for name in ("", *PAYLOAD_LOGGERS)}
    configure_logging(LoggingSettings(level="DEBUG", log_payloads=payloads), stream=stream)
    try:
        yield stream, payloads
    finally:
        logger.remove()
        logger.configure(patcher=lambda record: None)
        # The process's real stderr (file descriptor 2), which pytest captures per test: not this test's
        # sys.stderr, and not whatever replaces sys.stderr later (CliRunner's output, for one).
        logger.add(sys.__stderr__)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def call_tools(running: RunningGateway, key: str) -> tuple[Any, Any]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"x-api-key": key})
    transport = streamable_http_client(running.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode="legacy") as client:
        return await client.call_tool("leaky_payload", {}), await client.call_tool("leaky_fail", {})


@pytest.mark.anyio
@pytest.mark.parametrize("captured_logs", [False, True], indirect=True, ids=["default", "log_payloads"])
async def test_logs_are_one_line_per_event_without_credentials_or_payloads(
    captured_logs: tuple[io.StringIO, bool],
) -> None:
    stream, payloads = captured_logs
    with fresh_database_url() as url:
        settings = make_test_settings(url, auth={"local_mode": False})
        with serve_in_thread(settings, PLUGINS) as running:
            key = keys(running)["member"]
            forged = httpx.get(
                running.base_url + "/mcp%0A2026-01-01 00:00:00.000 INFO FORGED%1b[2J", timeout=10
            )
            assert forged.status_code in (401, 404)
            result, failed = await call_tools(running, key)
    assert result.content[0].text == PAYLOAD_MARKER  # type: ignore[union-attr]
    assert failed.is_error
    logged = stream.getvalue()
    assert "could not connect to postgresql://svc:[redacted]@db.internal/app" in logged  # the startup failure
    assert PASSWORD not in logged
    assert not any(line.lstrip().startswith("2026-01-01") for line in logged.splitlines())
    assert "\\n2026-01-01 00:00:00.000 INFO FORGED\\x1b[2J" in logged  # escaped, on the request's own line
    assert "\x1b[2J" not in logged
    assert (PAYLOAD_MARKER in logged) is payloads  # whole messages only when the operator opts in
