"""The baseline: the same echo tool served by the bare `mcp` SDK, with no gateway around it.

A low-level `mcp.server.Server` behind `StreamableHTTPSessionManager`, mounted on a Starlette route the
way the SDK documents it. Defaults match the gateway's session manager (stateful, SSE responses in the
handshake era), so the only difference the benchmark sees is the gateway itself.

Run by the benchmark as ``uvicorn bare_server:create_app --factory --app-dir benchmarks``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import gc_tools
import mcp.types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.routing import Route

TOOL_NAME = "bench_echo"
# The schema the gateway derives from `async def echo(text: str) -> str` (see bench_plugin.py).
INPUT_SCHEMA: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {"text": {"title": "Text", "type": "string"}},
    "required": ["text"],
    "title": "BenchEchoArguments",
    "type": "object",
}
ECHO_TOOL = types.Tool(name=TOOL_NAME, description="Return the text unchanged.", input_schema=INPUT_SCHEMA)

Ctx = ServerRequestContext[Any, Any]


def _check_arguments(arguments: Mapping[str, Any] | None) -> str | None:
    """The trivial equivalent of the gateway's pydantic validation: exactly one string `text`."""
    if not arguments or set(arguments) != {"text"}:
        return None
    text = arguments["text"]
    return text if isinstance(text, str) else None


async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[ECHO_TOOL])


async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
    if params.name != TOOL_NAME:
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
    text = _check_arguments(params.arguments)
    if text is None:
        return types.CallToolResult(
            content=[types.TextContent(text="Invalid arguments: expected exactly one string 'text'")],
            is_error=True,
        )
    return types.CallToolResult(content=[types.TextContent(text=text)])


def input_schema(name: str) -> dict[str, Any] | None:
    # The gateway hands the SDK this lookup too; without it the SDK runs tools/list on every
    # 2026-07-28 tools/call to check Mcp-Param-* headers, which would make the baseline unfairly slow.
    return INPUT_SCHEMA if name == TOOL_NAME else None


def build_server() -> Server[Any]:
    return Server(
        "bare-echo",
        version="0",
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def create_app() -> Starlette:
    """ASGI factory (uvicorn --factory)."""
    logging.basicConfig(level=logging.WARNING, force=True)
    manager = StreamableHTTPSessionManager(app=build_server(), json_response=False, stateless=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    routes = [Route("/mcp", StreamableHTTPASGIApp(manager), methods=["GET", "POST", "DELETE"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    return gc_tools.instrument(app)  # GC statistics (and optionally gc.freeze) when the benchmark asks
