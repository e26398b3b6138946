"""Tools the tasks-extension scenarios call (SEP-2663): `slow_compute`, `failing_job`, `protocol_error_job`.

Tool names are `<namespace>_<name>`, so each of these names is split into a one-tool namespace.
"""

from __future__ import annotations

import anyio
import mcp.types as types
from mcp.shared.exceptions import MCPError

from omni_mcp import ToolError, ToolGroup

slow = ToolGroup("slow", description="MCP conformance suite: a task that takes a while")
failing = ToolGroup("failing", description="MCP conformance suite: a task whose tool reports an error")
protocol = ToolGroup("protocol", description="MCP conformance suite: a task that ends in a protocol error")


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
