"""Role-based permissions as a default plugin; other plugins' answers come first (this one runs last)."""

from __future__ import annotations

from omni_mcp.auth.permissions import permissions_of
from omni_mcp.context import Actor
from omni_mcp.hookspecs import hookimpl


@hookimpl(trylast=True)
def permission_allowed(actor: Actor, permission: str) -> bool:
    return permission in permissions_of(actor.role, actor.permissions)
