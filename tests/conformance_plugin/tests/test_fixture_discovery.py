"""The conformance fixture as the gateway meets it: found through its entry point, served for real,
and spoken to by the SDK client in both protocol eras."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import mcp
import mcp.types as types
import pytest
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError

from omni_mcp.plugins import get_plugin_manager
from omni_mcp.settings import PluginSettings, Settings
from omni_mcp.testing import RunningGateway

DISTRIBUTION = "omni-mcp-conformance-fixture"
MODERN = "2026-07-28"


def _installed_version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


FIXTURE_VERSION = _installed_version()

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        FIXTURE_VERSION is None,
        reason=f"{DISTRIBUTION} is not installed; install it into this environment with "
        "`pip install -e tests/conformance_plugin`",
    ),
]


@pytest.fixture
def conformance_gateway(
    serve_gateway: Callable[..., RunningGateway], omni_settings: Settings
) -> RunningGateway:
    """A real server that loads entry-point plugins, allowing only the conformance fixture."""
    settings = omni_settings.model_copy(update={"plugins": PluginSettings(allow=["conformance"])})
    return serve_gateway(settings=settings)


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def answer_sampling(
    context: ClientRequestContext, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(text="Paris"), model="test-model", stop_reason="endTurn"
    )


def test_entry_point_loads_the_fixture_with_its_distribution_version() -> None:
    host = get_plugin_manager(PluginSettings(allow=["conformance"]))
    info = host.info["conformance"]
    assert (info.source, info.distribution, info.version) == ("entry point", DISTRIBUTION, FIXTURE_VERSION)
    assert "conformance" not in host.load_errors
    assert "conformance" not in get_plugin_manager(PluginSettings(allow=[])).info


@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_serves_the_conformance_names(conformance_gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(conformance_gateway.mcp_url, mode=era) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        text = await client.call_tool("test_simple_text", {})
        read = await client.read_resource("test://template/7/data")
    assert {"test_simple_text", "test_input_required_result_elicitation", "json_schema_2020_12_tool"} <= tools
    assert {"test_simple_prompt", "test_input_required_result_prompt"} <= prompts
    assert text_of(text) == "This is a simple text response for testing."
    assert read.contents[0].text == '{"id": "7", "templateTest": true, "data": "Data for ID: 7"}'  # type: ignore[union-attr]


async def test_handshake_era_samples_with_a_server_request(conformance_gateway: RunningGateway) -> None:
    async with mcp.Client(
        conformance_gateway.mcp_url, mode="legacy", sampling_callback=answer_sampling
    ) as client:
        result = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
    assert text_of(result) == "LLM response: Paris"


async def test_modern_era_samples_with_an_input_required_round(conformance_gateway: RunningGateway) -> None:
    async with mcp.Client(
        conformance_gateway.mcp_url, mode=MODERN, sampling_callback=answer_sampling
    ) as client:
        first = await client.session.call_tool(
            "test_sampling", {"prompt": "Capital?"}, allow_input_required=True
        )
        driven = await client.call_tool(
            "test_sampling", {"prompt": "Capital?"}
        )  # the SDK answers and retries
    assert isinstance(first, types.InputRequiredResult)
    assert first.input_requests is not None
    assert first.input_requests["sampling"].method == "sampling/createMessage"
    assert text_of(driven) == "LLM response: Paris"


async def test_request_state_comes_back_sealed_and_tampering_is_rejected(
    conformance_gateway: RunningGateway,
) -> None:
    tool = "test_input_required_result_request_state"
    confirm: dict[str, Any] = {"confirm": types.ElicitResult(action="accept", content={"ok": True})}
    async with mcp.Client(conformance_gateway.mcp_url, mode=MODERN) as client:
        first = await client.session.call_tool(tool, {}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult) and first.request_state is not None
        assert first.request_state != "awaiting-confirmation"  # the gateway sealed the plugin's plain state
        done = await client.session.call_tool(
            tool, {}, input_responses=confirm, request_state=first.request_state, allow_input_required=True
        )
        with pytest.raises(MCPError, match="Invalid requestState") as rejected:
            await client.session.call_tool(
                tool, {}, input_responses=confirm, request_state=first.request_state + "-TAMPERED"
            )
    assert isinstance(done, types.CallToolResult)
    assert text_of(done).startswith("state-ok")
    assert rejected.value.code == types.INVALID_PARAMS


async def test_multi_round_tool_issues_a_new_state_each_round(conformance_gateway: RunningGateway) -> None:
    answers = iter([{"name": "Alice"}, {"color": "blue"}])

    async def elicit(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content=next(answers))

    async with mcp.Client(conformance_gateway.mcp_url, mode=MODERN, elicitation_callback=elicit) as client:
        result = await client.call_tool("test_input_required_result_multi_round", {})
    assert text_of(result) == "Multi-round complete: Alice likes blue"


async def test_missing_sampling_capability_is_error_32021(conformance_gateway: RunningGateway) -> None:
    async with mcp.Client(conformance_gateway.mcp_url, mode=MODERN) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("test_missing_capability", {})
    assert caught.value.code == types.MISSING_REQUIRED_CLIENT_CAPABILITY
    assert caught.value.data == {"requiredCapabilities": {"sampling": {}}}
