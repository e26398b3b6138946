"""Federating a streamable-HTTP upstream built on the official Python SDK, in both protocol eras."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import mcp
import mcp.types as types
import pytest

from omni_mcp.testing import RunningGateway
from tests.federation_support import add_upstream, federating_gateway, text_of
from tests.federation_upstream import RunningUpstream, serve_upstream

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def upstream() -> Iterator[RunningUpstream]:
    with serve_upstream("py") as running:
        yield running


@pytest.fixture(scope="module")
def gateway(upstream: RunningUpstream) -> Iterator[RunningGateway]:
    with federating_gateway() as running:
        headers = {"Authorization": "Bearer up-secret"}
        add_upstream(running, "default", "py", url=upstream.url, headers=headers)
        yield running


async def test_tools_prompts_and_resources_join_the_lists(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        resources = {str(resource.uri) for resource in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert {"py_echo", "py_whoami", "py_slow", "py_steps"} <= set(tools)
    assert tools["py_echo"].input_schema["required"] == ["text"]
    assert "py_greet" in prompts
    assert "test://static/info" in resources
    assert "test://items/{item}" in templates


async def test_calls_tools_gets_prompts_reads_resources(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        echoed = await client.call_tool("py_echo", {"text": "hi"})
        prompt = await client.get_prompt("py_greet", {"name": "Ada"})
        fixed = await client.read_resource("test://static/info")
        templated = await client.read_resource("test://items/42")
    assert text_of(echoed) == "py:hi" and not echoed.is_error
    message = prompt.messages[0].content
    assert isinstance(message, types.TextContent) and message.text == "Hello Ada, from py"
    assert [getattr(c, "text", None) for c in fixed.contents] == ["info of py"]
    assert [getattr(c, "text", None) for c in templated.contents] == ["item 42 of py"]


async def test_upstream_gets_its_own_header_never_the_callers(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        seen = text_of(await client.call_tool("py_whoami", {}))
    assert seen == "[('authorization', 'Bearer up-secret')]"


async def test_arguments_are_checked_against_the_upstream_schema(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        result = await client.call_tool("py_echo", {"txt": "typo"})
    assert result.is_error
    assert "'text' is a required property" in text_of(result)


async def test_progress_passes_through(gateway: RunningGateway, era: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        result = await client.call_tool("py_steps", {}, progress_callback=on_progress)
    assert text_of(result) == "stepped"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_one_upstream_session_serves_many_calls(gateway: RunningGateway) -> None:
    connection = gateway.runtime.federation.connection(1, "py")
    assert connection is not None
    before = connection.connects
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        for number in range(20):
            assert text_of(await client.call_tool("py_echo", {"text": str(number)})) == f"py:{number}"
    assert connection.connects == before  # pooled: no new session per call


async def test_health_shows_the_upstream(gateway: RunningGateway) -> None:
    import httpx

    body = httpx.get(gateway.base_url + "/health").json()
    (entry,) = [u for u in body["upstreams"] if u["upstream"] == "py"]
    assert entry["state"] == "ready" and entry["organization"] == "default" and entry["kind"] == "http"
    assert "up-secret" not in str(body)


async def test_cancellation_reaches_the_upstream(gateway: RunningGateway, era: str) -> None:
    from tests.federation_upstream import CANCELLED

    CANCELLED.clear()
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        with anyio.move_on_after(1):
            await client.call_tool("py_slow", {"seconds": 30})
        deadline = anyio.current_time() + 15
        while not CANCELLED:  # the upstream runs in this process: poll what it noted
            assert anyio.current_time() < deadline, "the upstream never saw the cancellation"
            await anyio.sleep(0.05)
    assert CANCELLED == ["py"]
