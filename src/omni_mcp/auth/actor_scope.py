"""Where the resolved Actor travels with a request: in the ASGI scope, read by the gateway handlers."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.context import Actor

ACTOR_SCOPE_KEY = "omni_mcp.actor"


def actor_in(scope: dict[str, Any]) -> Actor | None:
    actor = scope.get(ACTOR_SCOPE_KEY)
    return actor if isinstance(actor, Actor) else None


class LocalActorMiddleware:
    """Without authentication, every request is the local user of the default organization."""

    def __init__(self, app: ASGIApp, *, organization: str) -> None:
        self.app = app
        self.actor = Actor.local(organization)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault(ACTOR_SCOPE_KEY, self.actor)
        await self.app(scope, receive, send)
