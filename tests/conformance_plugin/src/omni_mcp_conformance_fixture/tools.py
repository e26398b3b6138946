"""The tools the conformance scenarios call (namespace `test`, so `simple_text` is `test_simple_text`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
import mcp.types as types
from mcp.shared.exceptions import MCPError
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolGroup
from omni_mcp_conformance_fixture import interaction as ask
from omni_mcp_conformance_fixture.content import (
    AUDIO_WAV_BASE64,
    IMAGE_PNG_BASE64,
    JSON_SCHEMA_2020_12,
    SEP1034_DEFAULTS_SCHEMA,
    SEP1330_ENUMS_SCHEMA,
    USER_INFO_SCHEMA,
)

test = ToolGroup("test", description="MCP conformance suite: content, notifications and client requests")


@test.tool
async def simple_text() -> str:
    """Tests simple text content response."""
    return "This is a simple text response for testing."


@test.tool
async def image_content() -> types.ImageContent:
    """Tests image content response."""
    return types.ImageContent(data=IMAGE_PNG_BASE64, mime_type="image/png")


@test.tool
async def audio_content() -> types.AudioContent:
    """Tests audio content response."""
    return types.AudioContent(data=AUDIO_WAV_BASE64, mime_type="audio/wav")


@test.tool
async def embedded_resource() -> types.EmbeddedResource:
    """Tests embedded resource content response."""
    return types.EmbeddedResource(
        resource=types.TextResourceContents(
            uri="test://embedded-resource",
            mime_type="text/plain",
            text="This is an embedded resource content.",
        )
    )


@test.tool
async def multiple_content_types() -> list[types.ContentBlock]:
    """Tests response with multiple content types (text, image, resource)."""
    return [
        types.TextContent(text="Multiple content types test:"),
        types.ImageContent(data=IMAGE_PNG_BASE64, mime_type="image/png"),
        types.EmbeddedResource(
            resource=types.TextResourceContents(
                uri="test://mixed-content-resource",
                mime_type="application/json",
                text=json.dumps({"test": "data", "value": 123}),
            )
        ),
    ]


@test.tool
async def error_handling() -> str:
    """Tests error response handling (the result has isError set)."""
    raise ToolError("This tool intentionally returns an error for testing")


@test.tool
async def tool_with_progress(ctx: CallContext) -> str:
    """Tests tool that reports progress notifications."""
    for step in (0, 50, 100):
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await anyio.sleep(0.05)
    return "Progress reported: 0, 50 and 100 of 100"


@test.tool
async def tool_with_logging(ctx: CallContext) -> str:
    """Tests tool that emits log messages during execution."""
    for number, message in enumerate(
        ("Tool execution started", "Tool processing data", "Tool execution completed")
    ):
        if number:
            await anyio.sleep(0.05)
        await ctx.log("info", message)
    return "Tool with logging executed successfully"


@test.tool
async def reconnection(ctx: CallContext) -> str:
    """Tests SSE stream disconnection and client reconnection (SEP-1699)."""
    close_stream = ctx.sdk.close_sse_stream if ctx.sdk is not None else None
    if close_stream is not None:  # only when the transport can replay events after a reconnect
        await close_stream()
        await anyio.sleep(0.1)
    return "Reconnection test completed successfully."


@test.tool
async def sampling(prompt: str, ctx: CallContext) -> str | types.InputRequiredResult:
    """Tests server-initiated sampling (an input_required result on 2026-07-28)."""
    result = await ask.sample(ctx, "sampling", prompt, max_tokens=100)
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"LLM response: {ask.sampled_text(result) or 'No response'}"


@test.tool
async def elicitation(message: str, ctx: CallContext) -> str | types.InputRequiredResult:
    """Tests server-initiated elicitation (an input_required result on 2026-07-28)."""
    result = await ask.elicit(ctx, "user_info", message, USER_INFO_SCHEMA)
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"User response: {ask.describe(result)}"


@test.tool
async def elicitation_sep1034_defaults(ctx: CallContext) -> str | types.InputRequiredResult:
    """Tests elicitation with default values per SEP-1034."""
    result = await ask.elicit(
        ctx, "defaults", "Please review and update the form fields with defaults", SEP1034_DEFAULTS_SCHEMA
    )
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"Elicitation completed: {ask.describe(result)}"


@test.tool
async def elicitation_sep1330_enums(ctx: CallContext) -> str | types.InputRequiredResult:
    """Tests elicitation with enum schema improvements per SEP-1330."""
    result = await ask.elicit(
        ctx, "enums", "Please select options from the enum fields", SEP1330_ENUMS_SCHEMA
    )
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"Elicitation completed: {ask.describe(result)}"


# Diagnostic tools of the 2026-07-28 server-stateless scenario (they behave sensibly in either era).


@test.tool
async def missing_capability(ctx: CallContext) -> str | types.InputRequiredResult:
    """Needs the client's sampling capability: without it, fails with -32021 before doing anything."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.sampling is None:
        required = types.ClientCapabilities(sampling=types.SamplingCapability())
        data = types.MissingRequiredClientCapabilityErrorData(required_capabilities=required)
        raise MCPError(
            types.MISSING_REQUIRED_CLIENT_CAPABILITY,
            "This tool needs the client's sampling capability",
            data.model_dump(by_alias=True, exclude_none=True),
        )
    result = await ask.sample(ctx, "sampling", "Say hello", max_tokens=20)
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"Success: {ask.sampled_text(result)}"


@test.tool
async def streaming_elicitation(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks the user for confirmation; on 2026-07-28 never as a server-to-client request."""
    result = await ask.elicit(ctx, "confirm", "Continue streaming?", ask.object_schema(ok="boolean"))
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"Streaming complete: {ask.describe(result)}"


@test.tool
async def logging_tool(ctx: CallContext) -> str:
    """Logs one message; on 2026-07-28 it reaches the client only if the request's _meta asked for logs."""
    await ctx.log("info", "Diagnostic trace logging activated")
    return "Logging evaluated"


@test.tool
async def trigger_tool_change(ctx: CallContext) -> str:
    """Tells listening clients that the tool list changed."""
    if ctx.events is None:
        raise ToolError("this call has no change-event channel")
    await ctx.events.list_changed("tools")
    return "Mutation triggered: tools/list_changed"


@test.tool
async def trigger_prompt_change(ctx: CallContext) -> str:
    """Tells listening clients that the prompt list changed."""
    if ctx.events is None:
        raise ToolError("this call has no change-event channel")
    await ctx.events.list_changed("prompts")
    return "Mutation triggered: prompts/list_changed"


@test.tool
async def custom_header(
    region: Annotated[
        str,
        Field(
            description="Also sent as the Mcp-Param-Region header",
            json_schema_extra={"x-mcp-header": "Region"},
        ),
    ],
) -> str:
    """Tool with an x-mcp-header annotated parameter (SEP-2243)."""
    return f"region={region}"


json_schema = ToolGroup("json", description="MCP conformance suite: JSON Schema 2020-12 keywords")


@json_schema.tool(name="schema_2020_12_tool", input_schema=JSON_SCHEMA_2020_12)
async def schema_2020_12_tool(**arguments: Any) -> str:
    """Tool with JSON Schema 2020-12 features"""
    return f"JSON Schema 2020-12 tool called with: {json.dumps(arguments, sort_keys=True)}"
