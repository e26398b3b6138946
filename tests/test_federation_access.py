"""Federated tools obey the same API-key allow-lists, roles, per-tool rate limits and call audit as a
plugin's tools."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx2
import mcp
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from sqlmodel import Session, select

from omni_mcp.audit.models import CallLog
from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.testing import RunningGateway
from tests.federation_support import add_upstream, federating_gateway, text_of
from tests.federation_upstream import serve_upstream

pytestmark = pytest.mark.anyio
LIMITS = {"enabled": True, "per_tool_per_minute": {"py_whoami": 6}}  # a burst of one call


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with serve_upstream("py") as upstream, federating_gateway(rate_limit=LIMITS) as running:
        add_upstream(running, "default", "py", url=upstream.url)
        yield running


async def call_with_key(gateway: RunningGateway, key: str, tool: str) -> tuple[set[str], str]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode="2026-07-28", cache=None) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        try:
            return names, text_of(await client.call_tool(tool, {"text": "k"}))
        except MCPError as error:
            return names, error.message


async def test_an_api_key_allow_list_covers_federated_tools(gateway: RunningGateway) -> None:
    service = api_key_service(gateway.runtime)
    only_echo = service.create("default", role="member", actor="t", tools=["py_echo"]).key
    names, echoed = await call_with_key(gateway, only_echo, "py_echo")
    assert names == {"py_echo"} and echoed == "py:k"
    _, refused = await call_with_key(gateway, only_echo, "py_steps")
    assert "Permission denied" in refused and "not in its allow-list" in refused


async def test_per_tool_rate_limits_and_audit_apply(gateway: RunningGateway) -> None:
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
        assert not (await client.call_tool("py_whoami", {})).is_error
        with pytest.raises(MCPError, match="Rate limit for tool 'py_whoami' exceeded"):
            await client.call_tool("py_whoami", {})
        await client.call_tool("py_echo", {"text": "audited"})
    deadline = anyio.current_time() + 10
    while True:  # the call audit is written in batches: poll the table
        with Session(gateway.runtime.engine) as session:
            rows = session.exec(select(CallLog).where(CallLog.name == "py_echo")).all()
        if rows or anyio.current_time() > deadline:
            break
        await anyio.sleep(0.05)
    assert rows and rows[0].kind == "tool" and rows[0].outcome == "ok"
