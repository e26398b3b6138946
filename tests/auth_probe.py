"""A plugin that reports what authentication resolved: the Actor, and the request headers it can see."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from omni_mcp import CallContext, ToolGroup, hookimpl
from omni_mcp.auth.actor_scope import actor_in


class ProbePlugin:
    """A tool and a route that report the Actor and every request header they can see, and an
    admin-only tool."""

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("probe")

        @group.tool
        async def whoami(ctx: CallContext) -> dict[str, Any]:
            """Who the gateway says is calling, and the headers this tool could read or forward."""
            assert ctx.sdk is not None and ctx.sdk.request is not None
            return {**actor_view(ctx.actor), "headers": sorted(ctx.sdk.request.headers.keys())}

        @group.tool(permission="services:manage")
        async def reset() -> str:
            """An admin-only operation (members lack services:manage)."""
            return "reset done"

        return group

    @hookimpl
    def register_routes(self) -> list[Route]:
        async def whoami(request: Request) -> JSONResponse:
            actor = actor_in(request.scope)
            return JSONResponse(
                {**(actor_view(actor) if actor else {}), "headers": sorted(request.headers.keys())}
            )

        return [Route("/probe/whoami", whoami)]


def actor_view(actor: Any) -> dict[str, Any]:
    return {
        "id": actor.id,
        "organization": actor.organization,
        "role": actor.role,
        "permissions": sorted(actor.permissions),
        "kind": actor.kind,
        "allowed_tools": None if actor.allowed_tools is None else sorted(actor.allowed_tools),
    }
