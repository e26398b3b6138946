"""What an actor may see and use in its organization: RBAC on top of the org's enabled servers.

Lists leave out what the actor may not use. A call outside an API key's tool allow-list, or needing a
permission the actor's role does not grant, is refused with a clear "permission denied" error; the
allow-list is checked before the tool's existence, so a refusal never confirms that a name exists.
The same checks run twice: in the HTTP permission gate (which answers 403) and in the MCP handlers.
"""

from __future__ import annotations

import mcp.types as types
from mcp.shared.exceptions import MCPError

from omni_mcp.auth.access import AccessControl
from omni_mcp.auth.permissions import PROMPTS_READ, RESOURCES_READ, TOOLS_CALL
from omni_mcp.config.effective import OrgConfig
from omni_mcp.context import Actor
from omni_mcp.gateway.capabilities import CapabilityMap

PERMISSION_DENIED = -32003
"""Implementation-defined JSON-RPC code (the -32000..-32019 band) for a refused permission."""


class Visibility:
    def __init__(self, access: AccessControl, capabilities: CapabilityMap) -> None:
        self.access = access
        self._capabilities = capabilities

    async def tools(self, actor: Actor, org: OrgConfig) -> list[types.Tool]:
        if not await self.access.allowed(actor, TOOLS_CALL):
            return []
        visible = []
        for tool in org.listings.tools:
            if actor.allowed_tools is not None and tool.name not in actor.allowed_tools:
                continue
            owned = org.find_tool(self._capabilities.tools, tool.name)
            needed = owned.item.permission if owned is not None else None
            if needed is not None and not await self.access.allowed(actor, needed, tool.name):
                continue
            visible.append(tool)
        return visible

    async def check_tool(self, actor: Actor, name: str, org: OrgConfig) -> None:
        """Raise unless `actor` may call tool `name`. A tool outside an API key's allow-list is refused
        whether it exists or not (that confirms nothing); a tool `org` does not serve is left to the
        router's "Unknown tool"."""
        if actor.allowed_tools is not None and name not in actor.allowed_tools:
            raise MCPError(
                PERMISSION_DENIED,
                f"Permission denied: this API key may not call tool '{name}' (not in its tool list)",
                {"tool": name},
            )
        owned = org.find_tool(self._capabilities.tools, name)
        if owned is None:
            return
        if not await self.access.allowed(actor, TOOLS_CALL, name):
            raise denied(actor, TOOLS_CALL, f"call tool '{name}'")
        needed = owned.item.permission
        if needed is not None and not await self.access.allowed(actor, needed, name):
            raise denied(actor, needed, f"call tool '{name}'")

    async def check_prompt(self, actor: Actor, name: str) -> None:
        await self.require(actor, PROMPTS_READ, f"get prompt '{name}'", name)

    async def check_resource(self, actor: Actor, uri: str) -> None:
        await self.require(actor, RESOURCES_READ, f"read resource '{uri}'", uri)

    async def check_completion(self, actor: Actor) -> None:
        await self.require(actor, PROMPTS_READ, "complete arguments")

    async def may_read_prompts(self, actor: Actor) -> bool:
        return await self.access.allowed(actor, PROMPTS_READ)

    async def may_read_resources(self, actor: Actor) -> bool:
        return await self.access.allowed(actor, RESOURCES_READ)

    async def require(self, actor: Actor, permission: str, what: str, target: str | None = None) -> None:
        if not await self.access.allowed(actor, permission, target):
            raise denied(actor, permission, what)


def denied(actor: Actor, permission: str, what: str) -> MCPError:
    return MCPError(
        PERMISSION_DENIED,
        f"Permission denied: {actor.kind} with role '{actor.role}' may not {what} (needs {permission})",
        {"permission": permission},
    )
