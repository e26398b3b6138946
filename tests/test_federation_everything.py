"""Federating the reference server nobody here wrote, @modelcontextprotocol/server-everything (Node 22),
over stdio and over streamable HTTP, called through the gateway in both protocol eras."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import anyio
import mcp
import mcp.types as types
import pytest

from omni_mcp.testing import RunningGateway, free_port
from tests.federation_support import add_upstream, everything_server, federating_gateway, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def everything_http() -> Iterator[str]:
    node, script = everything_server()
    port = free_port()
    process = subprocess.Popen(
        [node, script, "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # the Node server gives no readiness signal but its open port
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server-everything did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def gateway(everything_http: str) -> Iterator[RunningGateway]:
    node, script = everything_server()
    with federating_gateway(federation={"stdio_commands": [node]}) as running:
        add_upstream(
            running, "default", "evstdio", command=node, args=[script, "stdio"], env={"FROM_ORG": "yes"}
        )
        add_upstream(running, "default", "evhttp", url=everything_http)
        yield running


@pytest.mark.parametrize("upstream", ["evstdio", "evhttp"])
async def test_reference_server_tools_prompts_resources(
    gateway: RunningGateway, era: str, upstream: str
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {f"{upstream}_echo", f"{upstream}_get-sum"} <= names
        echoed = await client.call_tool(f"{upstream}_echo", {"message": "federated"})
        summed = await client.call_tool(f"{upstream}_get-sum", {"a": 2, "b": 40})
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        assert f"{upstream}_args-prompt" in prompts
        prompt = await client.get_prompt(f"{upstream}_args-prompt", {"city": "Lisbon"})
        resources = [str(r.uri) for r in (await client.list_resources()).resources]
        document = await client.read_resource("demo://resource/static/document/features.md")
        dynamic = await client.read_resource("demo://resource/dynamic/text/7")
    assert text_of(echoed) == "Echo: federated"
    assert "42" in text_of(summed) and not summed.is_error
    first = prompt.messages[0].content
    assert isinstance(first, types.TextContent) and "Lisbon" in first.text
    assert "demo://resource/static/document/features.md" in resources
    assert document.contents and getattr(document.contents[0], "text", "")
    assert "7" in str(dynamic.contents[0])


async def test_stdio_upstream_gets_only_its_configured_environment(gateway: RunningGateway) -> None:
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        env = text_of(await client.call_tool("evstdio_get-env", {}))
    assert '"FROM_ORG": "yes"' in env
    assert "OMNI_MCP" not in env  # nothing of the gateway's own environment leaks to the upstream


async def test_each_upstream_negotiated_its_own_era(gateway: RunningGateway) -> None:
    federation = gateway.runtime.federation
    versions = {entry["upstream"]: entry["protocol_version"] for entry in federation.health()}
    assert versions["evstdio"] == versions["evhttp"] == "2025-11-25"  # the reference server's era


async def test_resource_updates_of_a_handshake_era_upstream_are_relayed(gateway: RunningGateway) -> None:
    """The reference server sends resources/updated for subscribed URIs every 5 s once toggled on."""
    uri = "demo://resource/static/document/features.md"
    got_it = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification) and str(message.params.uri) == uri:
            got_it.set()

    async with mcp.Client(gateway.mcp_url, mode="legacy", message_handler=on_message) as client:
        await client.session.subscribe_resource(uri)
        await client.call_tool("evhttp_toggle-subscriber-updates", {})
        with anyio.fail_after(20):
            await got_it.wait()
        await client.call_tool("evhttp_toggle-subscriber-updates", {})  # and off again
