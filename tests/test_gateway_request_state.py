"""A multi-round call's requestState belongs to the caller who started it, and expires.

input_required rounds exist in the 2026-07-28 era only (the handshake era asks the client directly).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import mcp
import mcp.types as types
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from omni_mcp import CallContext, ToolGroup, hookimpl
from omni_mcp.context import Actor
from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.gateway.request_state import RequestStateSealer
from omni_mcp.settings import Settings
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread

pytestmark = pytest.mark.anyio

CONFIRM: types.InputRequests = {
    "confirm": types.ElicitRequest(
        params=types.ElicitRequestFormParams(
            message="Sure?", requested_schema={"type": "object", "properties": {}}
        )
    )
}
ACCEPTED: dict[str, Any] = {"confirm": types.ElicitResult(action="accept", content={})}


class TwoRoundPlugin:
    """Asks for a confirmation with a state; finishes when the state and the answer come back."""

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("rounds")

        @group.tool
        async def transfer(ctx: CallContext) -> str | types.InputRequiredResult:
            if ctx.request_state == "confirm-transfer" and ctx.input_responses:
                return f"transferred for {ctx.actor.id}"
            return types.InputRequiredResult(input_requests=CONFIRM, request_state="confirm-transfer")

        return group


@pytest.fixture
def keyed_gateway(omni_database_url: str) -> Iterator[tuple[RunningGateway, str, str]]:
    settings: Settings = make_test_settings(omni_database_url, auth={"local_mode": False})
    with serve_in_thread(settings, [("rounds", TwoRoundPlugin())]) as gateway:
        gateway.configure(lambda t: t.create_organization("acme", actor="test"))
        keys = api_key_service(gateway.runtime)
        alice = keys.create("acme", role="member", actor="test").key
        bob = keys.create("acme", role="member", actor="test").key
        yield gateway, alice, bob


@contextlib.asynccontextmanager
async def client_with_key(gateway: RunningGateway, key: str) -> AsyncIterator[mcp.Client]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {key}"})
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode="2026-07-28", cache=None) as client:
        yield client


async def test_another_key_of_the_organization_cannot_replay_the_state(
    keyed_gateway: tuple[RunningGateway, str, str],
) -> None:
    gateway, alice, bob = keyed_gateway
    async with client_with_key(gateway, alice) as as_alice:
        first = await as_alice.session.call_tool("rounds_transfer", {}, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult) and first.request_state is not None

    async with client_with_key(gateway, bob) as as_bob:
        with pytest.raises(MCPError, match="issued to another caller") as refused:
            await as_bob.session.call_tool(
                "rounds_transfer", {}, input_responses=ACCEPTED, request_state=first.request_state
            )
    assert refused.value.code == types.INVALID_PARAMS

    async with client_with_key(gateway, alice) as as_alice:
        done = await as_alice.session.call_tool(
            "rounds_transfer", {}, input_responses=ACCEPTED, request_state=first.request_state
        )
    assert isinstance(done, types.CallToolResult) and not done.is_error
    assert done.content == [types.TextContent(text=f"transferred for apikey:{alice[:12]}")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_state_expires_after_its_ttl() -> None:
    clock = Clock()
    sealer = RequestStateSealer(b"k" * 32, ttl_seconds=60, clock=clock)
    alice = Actor(id="apikey:alice", organization="acme", kind="apikey")
    sealed = sealer.seal("state", target="tool:x", actor=alice)
    clock.now += 59.9
    assert sealer.open(sealed, target="tool:x", actor=alice) == "state"
    clock.now += 0.1
    with pytest.raises(MCPError, match="expired; start the call again"):
        sealer.open(sealed, target="tool:x", actor=alice)


def test_state_names_its_tool_organization_and_caller() -> None:
    sealer = RequestStateSealer(b"k" * 32, ttl_seconds=60)
    alice = Actor(id="u1", organization="acme")
    sealed = sealer.seal("state", target="tool:x", actor=alice)
    with pytest.raises(MCPError, match="issued for another request"):
        sealer.open(sealed, target="tool:y", actor=alice)
    with pytest.raises(MCPError, match="issued for another request"):
        sealer.open(sealed, target="tool:x", actor=Actor(id="u1", organization="globex"))
    with pytest.raises(MCPError, match="issued to another caller"):
        sealer.open(sealed, target="tool:x", actor=Actor(id="u2", organization="acme"))
    with pytest.raises(MCPError, match="not issued by this server"):
        RequestStateSealer(b"other" * 8, ttl_seconds=60).open(sealed, target="tool:x", actor=alice)
