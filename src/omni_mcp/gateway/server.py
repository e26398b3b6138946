"""The SDK's low-level MCP server, wired to our router. One instance serves both protocol eras."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, TypeVar

import mcp.types as types
from loguru import logger
from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from omni_mcp.auth.access import AccessControl
from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.config.effective import OrgConfig, UnknownOrganization
from omni_mcp.context import Actor, CallContext
from omni_mcp.gateway.call_audit import CallAudit
from omni_mcp.gateway.events import ChangeEvents
from omni_mcp.gateway.router import ContextFactory, Router
from omni_mcp.gateway.visibility import Visibility
from omni_mcp.observability.request_id import REQUEST_ID_SCOPE_KEY
from omni_mcp.observability.tracing import step
from omni_mcp.ratelimit.buckets import retry_after_header
from omni_mcp.ratelimit.limiter import RATE_LIMITED
from omni_mcp.redaction import redact_secrets
from omni_mcp.runtime import Runtime
from omni_mcp.storage.store import PluginStore
from omni_mcp.tasks.handlers import HANDSHAKE_TASKS_CAPABILITY, install_tasks
from omni_mcp.tasks.runner import TaskRunner, process_id
from omni_mcp.tasks.store import TaskStore

PAGE_SIZE = 500

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


class GatewayServer(Server[Any]):
    """The SDK server, saying in `initialize` that tool, prompt and resource lists change.

    They do: configuration changes and plugins send `notifications/*/list_changed` (see ChangeEvents), and a
    client that honours the flag would otherwise ignore them. (`server/discover` derives it by itself.)
    """

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        every_list_changes = NotificationOptions(
            prompts_changed=True, resources_changed=True, tools_changed=True
        )
        options = super().create_initialization_options(
            notification_options or every_list_changes, experimental_capabilities, extensions
        )
        options.capabilities.tasks = HANDSHAKE_TASKS_CAPABILITY  # `initialize` is handshake-era only
        return options


def build_mcp_server(runtime: Runtime) -> Server[Any]:
    router = Router(runtime)
    events = runtime.events
    visibility = Visibility(AccessControl(runtime.plugins), runtime.capabilities)  # final once started
    audit = CallAudit(runtime.auditor)

    async def org_of(ctx: Ctx) -> OrgConfig:
        actor = actor_of(ctx)
        try:
            return await runtime.org_configs.get(actor.organization)
        except UnknownOrganization:
            raise MCPError(types.INVALID_REQUEST, f"Unknown organization: {actor.organization}") from None

    async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        page, cursor = _paginate(await visibility.tools(actor_of(ctx), await org_of(ctx)), params)
        return types.ListToolsResult(tools=page, next_cursor=cursor)

    async def call_tool(
        ctx: Ctx, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        with step("org_config"):
            org = await org_of(ctx)
        actor = actor_of(ctx)
        async with audit.call("tool", params.name, actor, org, params.arguments) as outcome:
            with step("authorize"):
                await visibility.check_tool(actor, params.name, org)
            if org.find_tool(runtime.capabilities.tools, params.name):  # unknown tools: the router says so
                with step("rate_limit"):
                    await _check_tool_rate(runtime, actor, params.name)
            with step("plugin"):
                result = await router.call_tool(params, org, _context_factory(ctx, runtime, org))
            if isinstance(result, types.CallToolResult) and result.is_error:
                outcome.failed()
            return result

    async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        page, cursor = _paginate(await visibility.prompts(actor_of(ctx), await org_of(ctx)), params)
        return types.ListPromptsResult(prompts=page, next_cursor=cursor)

    async def get_prompt(
        ctx: Ctx, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult | types.InputRequiredResult:
        org = await org_of(ctx)
        actor = actor_of(ctx)
        async with audit.call("prompt", params.name, actor, org, params.arguments):
            await visibility.check_prompt(actor, params.name, org)
            return await router.get_prompt(params, org, _context_factory(ctx, runtime, org))

    async def list_resources(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        page, cursor = _paginate(await visibility.resources(actor_of(ctx), await org_of(ctx)), params)
        return types.ListResourcesResult(resources=page, next_cursor=cursor)

    async def list_templates(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        page, cursor = _paginate(await visibility.templates(actor_of(ctx), await org_of(ctx)), params)
        return types.ListResourceTemplatesResult(resource_templates=page, next_cursor=cursor)

    async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        org = await org_of(ctx)
        actor = actor_of(ctx)
        uri = str(params.uri)
        async with audit.call("resource", uri, actor, org, None):
            await visibility.check_resource(actor, uri, org)
            return await router.read_resource(uri, org, _context_factory(ctx, runtime, org))

    async def subscribe(ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
        await visibility.check_resource(actor_of(ctx), str(params.uri), await org_of(ctx))
        session_id = session_id_of(ctx)
        if session_id is not None:  # without a session there is no stream to send updates on
            events.subscribe(session_id, ctx.session, actor_of(ctx).organization, str(params.uri))
        return types.EmptyResult()

    async def unsubscribe(ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        session_id = session_id_of(ctx)
        if session_id is not None:
            events.unsubscribe(session_id, str(params.uri))
        return types.EmptyResult()

    async def listen(
        ctx: Ctx, params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        return await events.listen(ctx, params, actor_of(ctx).organization)

    async def complete(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        context_arguments = params.context.arguments if params.context and params.context.arguments else {}
        org = await org_of(ctx)
        prompt = params.ref.name if isinstance(params.ref, types.PromptReference) else None
        template = params.ref.uri if isinstance(params.ref, types.ResourceTemplateReference) else None
        await visibility.check_completion(actor_of(ctx), org, prompt, template)
        completion = await router.complete(
            params.ref,
            params.argument.name,
            params.argument.value,
            context_arguments,
            org,
            _context_factory(ctx, runtime, org),
        )
        return types.CompleteResult(completion=completion)

    async def set_logging_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        # Handshake-era clients choose a level; plugins' messages are sent through CallContext.log.
        return types.EmptyResult()

    def input_schema(name: str) -> dict[str, Any] | None:
        # Used for Mcp-Param header checks before the caller is known: the schema is the same for every org.
        tool = runtime.capabilities.listed_tools.get(name)
        return tool.input_schema if tool else None

    server = GatewayServer(
        "omni-mcp",
        version=runtime.version,
        title="omni-mcp gateway",
        instructions="Tools, prompts and resources of the MCP servers enabled for your organization.",
        cache_hints=CACHE_HINTS,
        get_tool_input_schema=input_schema,
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
        on_subscriptions_listen=listen,
    )
    server.middleware.append(_remember_handshake_clients(events))
    server.middleware.append(_redact_errors)
    # Registered after construction: the constructor warns that logging is deprecated in 2026-07-28,
    # but handshake-era clients still send logging/setLevel and must get an answer.
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_logging_level)
    install_tasks(
        server, runtime, TaskRunner(TaskStore(runtime.engine, process_id()), runtime.settings.tasks)
    )
    return server


async def _check_tool_rate(runtime: Runtime, actor: Actor, tool: str) -> None:
    limiter = runtime.rate_limiter
    if limiter is None:
        return
    decision = await limiter.check_tool(actor, tool)
    if not decision.allowed:
        retry = retry_after_header(decision.retry_after)
        raise MCPError(
            RATE_LIMITED,
            f"Rate limit for tool '{tool}' exceeded; retry after {retry} s",
            {"retryAfter": int(retry)},
        )


def actor_of(ctx: Ctx) -> Actor:
    """Who is calling, as the authentication middleware put it in the request scope."""
    actor = actor_in(ctx.request.scope) if ctx.request is not None else None
    if actor is None:  # a transport without our middleware in front: refuse rather than guess
        raise MCPError(types.INVALID_REQUEST, "Unauthenticated request")
    return actor


def session_id_of(ctx: Ctx) -> str | None:
    """The handshake-era session this request belongs to (None for `initialize` and the 2026-07-28 era)."""
    return ctx.request.headers.get("mcp-session-id") if ctx.request is not None else None


def _remember_handshake_clients(events: ChangeEvents) -> ServerMiddleware[Any]:
    """Note every handshake-era session (from its first message after `initialize`, usually
    `notifications/initialized`), so list changes can be pushed to it."""

    async def middleware(ctx: Ctx, call_next: CallNext) -> HandlerResult:
        session_id = session_id_of(ctx)
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and session_id is not None:
            events.seen(session_id, ctx.session, actor_of(ctx).organization)
        return await call_next(ctx)

    return middleware


async def _redact_errors(ctx: Ctx, call_next: CallNext) -> HandlerResult:
    """Error messages quote exceptions and upstream answers: no credential in them reaches the caller."""
    try:
        return await call_next(ctx)
    except MCPError as error:
        cleaned = redact_secrets(error.message)
        if cleaned == error.message:
            raise
        raise MCPError(error.code, cleaned, error.data) from None


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


def _context_factory(ctx: Ctx, runtime: Runtime, org: OrgConfig) -> ContextFactory:
    scope: dict[str, Any] = ctx.request.scope if ctx.request is not None else {}
    request_id = str(scope.get(REQUEST_ID_SCOPE_KEY) or ctx.request_id or "")
    actor = actor_of(ctx)

    def make(plugin: str, name: str) -> CallContext:
        return CallContext(
            plugin=plugin,
            name=name,
            actor=actor,
            request_id=request_id,
            settings=org.settings.get(plugin),
            settings_error=org.settings_errors.get(plugin),
            logger=logger.bind(plugin=plugin, request_id=request_id, organization=actor.organization),
            sdk=ctx,
            events=runtime.events,
            store=PluginStore(runtime.engine, org.organization_id, plugin),
        )

    return make
