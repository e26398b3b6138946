"""Both protocol eras end to end: the official SDK client against a real uvicorn server."""

from __future__ import annotations

from typing import Any

import mcp
import mcp.types as types
import pytest
from mcp.shared.exceptions import MCPError

from omni_mcp.testing import RunningGateway

pytestmark = pytest.mark.anyio


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def test_lists_tools_of_healthy_plugins_only(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"demo_echo", "demo_sync_add", "demo_move", "sick_ping"} <= names
    assert "broken_never" not in names  # its startup failed: withheld


async def test_input_schema_comes_from_type_hints(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools["demo_echo"].input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"]["description"] == "what to say back"
    assert schema["properties"]["times"]["default"] == 1
    assert tools["demo_echo"].description == "Say the text back."
    assert tools["demo_move"].input_schema["required"] == ["x"]


async def test_calls_async_sync_and_model_tools(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        echoed = await client.call_tool("demo_echo", {"text": "ab", "times": 3})
        added = await client.call_tool("demo_sync_add", {"a": 2, "b": 40})
        moved = await client.call_tool("demo_move", {"x": 1, "y": 2})
    assert text_of(echoed) == "ababab" and not echoed.is_error
    assert added.structured_content == {"sum": 42}
    assert moved.structured_content == {"x": 1, "y": 2}
    assert text_of(moved) == "moved to 1,2"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"times": 2}, "missing required argument 'text'"),
        ({"text": "a", "times": "many"}, "argument 'times'"),
        ({"text": "a", "volume": 11}, "unknown argument 'volume'"),
    ],
)
async def test_invalid_arguments_name_the_field(
    gateway: RunningGateway, era: str, arguments: dict[str, Any], expected: str
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        result = await client.call_tool("demo_echo", arguments)
    assert result.is_error
    assert "Invalid arguments for tool 'demo_echo'" in text_of(result)
    assert expected in text_of(result)


async def test_unknown_tool_is_a_protocol_error(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        with pytest.raises(MCPError, match="Unknown tool: nope") as caught:
            await client.call_tool("nope", {})
    assert caught.value.code == types.INVALID_PARAMS


async def test_withheld_tool_cannot_be_called(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        with pytest.raises(MCPError, match="Unknown tool: broken_never"):
            await client.call_tool("broken_never", {})


async def test_plugin_exception_becomes_error_result_and_server_keeps_serving(
    gateway: RunningGateway, era: str
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        crashed = await client.call_tool("demo_crash", {})
        refused = await client.call_tool("demo_refuse", {})
        after = await client.call_tool("demo_echo", {"text": "still here"})
    assert crashed.is_error
    assert text_of(crashed) == "Tool 'demo_crash' failed: RuntimeError: boom in demo_crash"
    assert "Traceback" not in text_of(crashed)
    assert refused.is_error and text_of(refused) == "the upstream said no"
    assert text_of(after) == "still here"


async def test_hung_tool_times_out_as_error_result(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        result = await client.call_tool("demo_hang", {"seconds": 30})
        after = await client.call_tool("demo_echo", {"text": "alive"})
    assert result.is_error
    assert text_of(result) == "Tool 'demo_hang' did not finish within 1 seconds and was stopped"
    assert text_of(after) == "alive"


async def test_progress_and_log_notifications_reach_the_client(gateway: RunningGateway, era: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    logs: list[Any] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    async with mcp.Client(gateway.mcp_url, mode=era, logging_callback=on_log, log_level="info") as client:
        result = await client.call_tool("demo_progress", {"steps": 3}, progress_callback=on_progress)
    assert text_of(result) == "done"
    assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
    assert logs == ["did step 1", "did step 2", "did step 3"]


async def test_prompts_render_templates_safely(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("demo_greet", {"name": "{mood}"})
        with pytest.raises(MCPError, match="missing required argument 'name'"):
            await client.get_prompt("demo_greet", {})
    assert [a.name for a in listed["demo_greet"].arguments or []] == ["name", "mood"]
    message = rendered.messages[0].content
    assert isinstance(message, types.TextContent)
    # A value is inserted as text, never re-expanded; doubled braces are literal.
    assert message.text == "Hello {mood}! Mood: . Braces stay: {name}"


async def test_resources_and_templates(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        fixed = await client.read_resource("demo://readme")
        templated = await client.read_resource("demo://items/42")
        with pytest.raises(MCPError, match="Resource not found"):
            await client.read_resource("demo://nothing")
    assert listed == ["demo://readme"]
    assert templates == ["demo://items/{id}"]
    assert fixed.contents[0].text == "read me"  # type: ignore[union-attr]
    assert templated.contents[0].text == "item 42 for default"  # type: ignore[union-attr]


async def test_completions_with_and_without_the_callers_context(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        greet = types.PromptReference(name="demo_greet")
        moods = await client.complete(greet, {"name": "mood", "value": "c"})
        items = await client.complete(
            types.ResourceTemplateReference(uri="demo://items/{id}"), {"name": "id", "value": "4"}
        )
    assert moods.completion.values == ["calm", "cheerful", "curious"]
    assert items.completion.values == ["4-default", "4-via-demo"]

    # An organization's own text for the plugin's prompt keeps the plugin's completer.
    own = {"template": "Hi {name}, feeling {mood}?", "arguments": [{"name": "name"}, {"name": "mood"}]}
    gateway.configure(lambda t: t.set_prompt("default", "demo_greet", own, actor="test"))
    try:
        async with mcp.Client(gateway.mcp_url, mode=era) as client:
            rendered = await client.get_prompt("demo_greet", {"name": "Ann", "mood": "calm"})
            again = await client.complete(greet, {"name": "mood", "value": "g"})
    finally:
        gateway.configure(lambda t: t.delete_prompt("default", "demo_greet", actor="test"))
    assert rendered.messages[0].content.text == "Hi Ann, feeling calm?"  # type: ignore[union-attr]
    assert again.completion.values == ["grumpy"]


async def test_a_resource_reader_can_say_not_found_or_fail_with_its_own_message(
    gateway: RunningGateway, era: str
) -> None:
    errors = {}
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        for item in ("missing", "locked", "crash"):
            with pytest.raises(MCPError) as caught:
                await client.read_resource(f"demo://items/{item}")
            errors[item] = (caught.value.code, caught.value.message)
    # Not found reads like a URI nobody serves; a ToolError is the plugin's message, as is; a bug is named.
    assert errors == {
        "missing": (types.INVALID_PARAMS, "Resource not found: demo://items/missing (no item missing)"),
        "locked": (types.INTERNAL_ERROR, "resource 'demo://items/locked': the item is locked by its owner"),
        "crash": (
            types.INTERNAL_ERROR,
            "resource 'demo://items/crash' failed: RuntimeError: bug in the reader",
        ),
    }


async def test_handshake_era_uses_a_session_and_modern_era_does_not(gateway: RunningGateway) -> None:
    async with mcp.Client(gateway.mcp_url, mode="legacy") as legacy:
        assert legacy.protocol_version == "2025-11-25"
        assert legacy.server_info is not None and legacy.server_info.name == "omni-mcp"
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as modern:
        assert modern.protocol_version == "2026-07-28"
        assert (await modern.list_tools()).tools
    async with mcp.Client(gateway.mcp_url, mode="auto") as auto:
        assert auto.protocol_version == "2026-07-28"
