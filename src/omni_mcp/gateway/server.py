"""The SDK's low-level MCP server, wired to our router. One instance serves both protocol eras."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, TypeVar

import mcp.types as types
from loguru import logger
from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from omni_mcp.context import Actor, CallContext
from omni_mcp.gateway.events import ChangeEvents
from omni_mcp.gateway.router import ContextFactory, Router
from omni_mcp.observability.request_id import REQUEST_ID_SCOPE_KEY
from omni_mcp.runtime import Runtime

PAGE_SIZE = 500
ACTOR_SCOPE_KEY = "omni_mcp.actor"

T = TypeVar("T")
Ctx = ServerRequestContext[Any, Any]


# Lists are per organization and may change at any time (private, short-lived); reads are never cached.
CACHE_HINTS: dict[CacheableMethod, CacheHint] = {
    "tools/list": CacheHint(ttl_ms=10_000, scope="private"),
    "prompts/list": CacheHint(ttl_ms=10_000, scope="private"),
    "resources/list": CacheHint(ttl_ms=10_000, scope="private"),
    "resources/templates/list": CacheHint(ttl_ms=10_000, scope="private"),
    "resources/read": CacheHint(ttl_ms=0, scope="private"),
}


def build_mcp_server(runtime: Runtime) -> Server[Any]:
    router = Router(runtime)
    events = runtime.events
    listings = _Listings(runtime)

    async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        page, cursor = _paginate(listings.tools(), params)
        return types.ListToolsResult(tools=page, next_cursor=cursor)

    async def call_tool(
        ctx: Ctx, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        return await router.call_tool(params, _context_factory(ctx, runtime))

    async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        page, cursor = _paginate(listings.prompts(), params)
        return types.ListPromptsResult(prompts=page, next_cursor=cursor)

    async def get_prompt(
        ctx: Ctx, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult | types.InputRequiredResult:
        return await router.get_prompt(params, _context_factory(ctx, runtime))

    async def list_resources(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        page, cursor = _paginate(listings.resources(), params)
        return types.ListResourcesResult(resources=page, next_cursor=cursor)

    async def list_templates(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        page, cursor = _paginate(listings.templates(), params)
        return types.ListResourceTemplatesResult(resource_templates=page, next_cursor=cursor)

    async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        return await router.read_resource(str(params.uri), _context_factory(ctx, runtime))

    async def subscribe(ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
        events.handshake_clients.subscribe(ctx.session, str(params.uri))
        return types.EmptyResult()

    async def unsubscribe(ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        events.handshake_clients.unsubscribe(ctx.session, str(params.uri))
        return types.EmptyResult()

    async def complete(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        context_arguments = params.context.arguments if params.context and params.context.arguments else {}
        completion = await router.complete(
            params.ref, params.argument.name, params.argument.value, context_arguments
        )
        return types.CompleteResult(completion=completion)

    async def set_logging_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        # Handshake-era clients choose a level; plugins' messages are sent through CallContext.log.
        return types.EmptyResult()

    server: Server[Any] = Server(
        "omni-mcp",
        version=runtime.version,
        title="omni-mcp gateway",
        instructions="Tools, prompts and resources of the MCP servers enabled for your organization.",
        cache_hints=CACHE_HINTS,
        get_tool_input_schema=listings.input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_completion=complete,
        on_subscriptions_listen=ListenHandler(events.bus),
    )
    server.middleware.append(_remember_handshake_clients(events))
    # Registered after construction: the constructor warns that logging is deprecated in 2026-07-28,
    # but handshake-era clients still send logging/setLevel and must get an answer.
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_logging_level)
    return server


def _remember_handshake_clients(events: ChangeEvents) -> ServerMiddleware[Any]:
    """Note every handshake-era connection, so list changes can be pushed to it."""

    async def middleware(ctx: Ctx, call_next: CallNext) -> HandlerResult:
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and ctx.request_id is not None:
            events.handshake_clients.seen(ctx.session)
        return await call_next(ctx)

    return middleware


class _Listings:
    """List results built once per capability map, not per request."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._built_for: object | None = None
        self._tools: list[types.Tool] = []
        self._prompts: list[types.Prompt] = []
        self._resources: list[types.Resource] = []
        self._templates: list[types.ResourceTemplate] = []
        self._schemas: dict[str, dict[str, Any]] = {}

    def _refresh(self) -> None:
        capabilities = self._runtime.capabilities
        if self._built_for is capabilities:
            return
        self._tools = [owned.item.to_mcp() for owned in capabilities.tools.values()]
        self._schemas = {tool.name: tool.input_schema for tool in self._tools}
        self._prompts = [owned.item.to_mcp() for owned in capabilities.prompts.values()]
        self._resources = [owned.item.to_mcp() for owned in capabilities.resources.values()]
        self._templates = [owned.item.to_mcp() for owned in capabilities.templates.values()]
        self._built_for = capabilities

    def tools(self) -> list[types.Tool]:
        self._refresh()
        return self._tools

    def prompts(self) -> list[types.Prompt]:
        self._refresh()
        return self._prompts

    def resources(self) -> list[types.Resource]:
        self._refresh()
        return self._resources

    def templates(self) -> list[types.ResourceTemplate]:
        self._refresh()
        return self._templates

    def input_schema(self, name: str) -> dict[str, Any] | None:
        self._refresh()
        return self._schemas.get(name)


def _paginate(items: Sequence[T], params: types.PaginatedRequestParams | None) -> tuple[list[T], str | None]:
    start = _decode_cursor(params.cursor if params else None, len(items))
    end = start + PAGE_SIZE
    next_cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return list(items[start:end]), next_cursor


def _decode_cursor(cursor: str | None, total: int) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise MCPError(types.INVALID_PARAMS, "Invalid cursor") from None
    if not 0 <= offset <= total:
        raise MCPError(types.INVALID_PARAMS, "Invalid cursor")
    return offset


def _context_factory(ctx: Ctx, runtime: Runtime) -> ContextFactory:
    scope: dict[str, Any] = ctx.request.scope if ctx.request is not None else {}
    request_id = str(scope.get(REQUEST_ID_SCOPE_KEY) or ctx.request_id or "")
    actor: Actor = scope.get(ACTOR_SCOPE_KEY) or Actor.local()

    def make(plugin: str, name: str) -> CallContext:
        return CallContext(
            plugin=plugin,
            name=name,
            actor=actor,
            request_id=request_id,
            logger=logger.bind(plugin=plugin, request_id=request_id, organization=actor.organization),
            sdk=ctx,
            events=runtime.events,
        )

    return make
