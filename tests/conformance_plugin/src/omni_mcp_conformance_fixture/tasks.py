"""Tools the tasks-extension scenarios call (SEP-2663): `slow_compute`, `failing_job`, `protocol_error_job`.

Tool names are `<namespace>_<name>`, so each of these names is split into a one-tool namespace.
"""

from __future__ import annotations

import anyio
import mcp.types as types
from mcp.shared.exceptions import MCPError

from omni_mcp import CallContext, ToolError, ToolGroup
from omni_mcp_conformance_fixture import interaction as ask

slow = ToolGroup("slow", description="MCP conformance suite: a task that takes a while")
failing = ToolGroup("failing", description="MCP conformance suite: a task whose tool reports an error")
protocol = ToolGroup("protocol", description="MCP conformance suite: a task that ends in a protocol error")
confirm = ToolGroup("confirm", description="MCP conformance suite: a task that asks for confirmation")
multi = ToolGroup("multi", description="MCP conformance suite: a task that asks two questions at once")

CONFIRM_DELETE = ask.elicitation("Really delete the file?", ask.object_schema(confirm="boolean"))


@slow.tool(name="compute", task_support="optional")
async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    """Sleeps `seconds` seconds, then says so (runs as a task for clients of the tasks extension)."""
    await anyio.sleep(max(0.0, seconds))
    return f"Computed {label or 'result'} after {seconds:g} s"


@failing.tool(name="job", task_support="required")
async def failing_job() -> str:
    """Runs only as a task; reports a tool execution error shortly after it starts."""
    await anyio.sleep(0.5)
    raise ToolError("failing_job failed on purpose")


@protocol.tool(name="error_job", task_support="optional")
async def protocol_error_job() -> str:
    """Runs as a task that ends in a protocol-level (JSON-RPC) error instead of a tool result."""
    await anyio.sleep(0.2)
    raise MCPError(types.INTERNAL_ERROR, "protocol_error_job failed with a protocol error on purpose")


@confirm.tool(name="delete", task_support="optional")
async def confirm_delete(ctx: CallContext, filename: str = "") -> str | types.InputRequiredResult:
    """Asks the client to confirm (one elicitation), then reports the deletion."""
    reply = ask.answer(ctx, "confirm", types.ElicitResult)
    if reply is None:
        return ask.input_required({"confirm": CONFIRM_DELETE})
    return f"Deleted {filename}" if reply.action == "accept" else f"Kept {filename}"


@multi.tool(name="input", task_support="optional")
async def multi_input(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks two questions at once; finishes when both are answered."""
    first = ask.answer(ctx, "first", types.ElicitResult)
    second = ask.answer(ctx, "second", types.ElicitResult)
    if first is None or second is None:
        return ask.input_required(
            {
                "first": ask.elicitation("First question", ask.object_schema(name="string")),
                "second": ask.elicitation("Second question", ask.object_schema(confirm="boolean")),
            }
        )
    return f"Both answered: {ask.describe(first)}; {ask.describe(second)}"
