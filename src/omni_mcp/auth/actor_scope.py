"""Resolve every request to an Actor and carry it in the ASGI scope, where the gateway reads it.

Plugins resolve callers through the `actor_from_request` hook (the first Actor returned wins). When none
does, the request is the local user of the default organization (a single-team install).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from loguru import logger
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.context import Actor
from omni_mcp.security.errors import send_error

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

ACTOR_SCOPE_KEY = "omni_mcp.actor"


def actor_in(scope: dict[str, Any]) -> Actor | None:
    actor = scope.get(ACTOR_SCOPE_KEY)
    return actor if isinstance(actor, Actor) else None


class ActorMiddleware:
    def __init__(self, app: ASGIApp, *, runtime: Runtime, mcp_path: str) -> None:
        self.app = app
        self.runtime = runtime
        self.mcp_path = mcp_path
        self.local = Actor.local(runtime.settings.tenancy.default_organization)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        answers = self.runtime.plugins.call_each("actor_from_request", request=request, runtime=self.runtime)
        resolved: Actor = self.local
        async with aclosing(answers):
            async for plugin, actor, error in answers:
                if error is not None:
                    logger.opt(exception=error).error("plugin {} failed to resolve the caller", plugin)
                    await send_error(scope, receive, send, 500, "Could not resolve the caller", self.mcp_path)
                    return
                if isinstance(actor, Actor):
                    resolved = actor
                    break
        scope[ACTOR_SCOPE_KEY] = resolved
        await self.app(scope, receive, send)
