"""What an actor may see and use in its organization: RBAC on top of the org's enabled servers.

Lists leave out what the actor may not use. A call outside an API key's allow-list (tools, prompts,
resources, servers: see omni_mcp.auth.allow_list), or needing a permission the actor's role does not
grant, is refused with a clear "permission denied" error; the allow-list is checked before the name's
existence, so a refusal never confirms that a name exists.
The same checks run twice: in the HTTP permission gate (which answers 403) and in the MCP handlers.
"""

from __future__ import annotations

import mcp.types as types
from mcp.shared.exceptions import MCPError

from omni_mcp.auth.access import AccessControl
from omni_mcp.auth.allow_list import AllowList
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
        allow = AllowList.of(actor)
        visible = []
        for tool in org.listings.tools:
            owned = org.find_tool(self._capabilities.tools, tool.name)
            if allow is not None and not allow.tool(tool.name, owned.plugin if owned else None):
                continue
            needed = owned.item.permission if owned is not None else None
            if needed is not None and not await self.access.allowed(actor, needed, tool.name):
                continue
            visible.append(tool)
        return visible

    async def check_tool(self, actor: Actor, name: str, org: OrgConfig) -> None:
        """Raise unless `actor` may call tool `name`. A tool outside an API key's allow-list is refused
        whether it exists or not (that confirms nothing); a tool `org` does not serve is left to the
        router's "Unknown tool"."""
        owned = org.find_tool(self._capabilities.tools, name)
        allow = AllowList.of(actor)
        if allow is not None and not allow.tool(name, owned.plugin if owned else None):
            raise outside_allow_list(f"call tool '{name}'", {"tool": name})
        if owned is None:
            return
        if not await self.access.allowed(actor, TOOLS_CALL, name):
            raise denied(actor, TOOLS_CALL, f"call tool '{name}'")
        needed = owned.item.permission
        if needed is not None and not await self.access.allowed(actor, needed, name):
            raise denied(actor, needed, f"call tool '{name}'")

    async def check_prompt(self, actor: Actor, name: str, org: OrgConfig) -> None:
        allow = AllowList.of(actor)
        if allow is not None and not allow.prompt(name, _prompt_plugin(org, name)):
            raise outside_allow_list(f"get prompt '{name}'", {"prompt": name})
        await self.require(actor, PROMPTS_READ, f"get prompt '{name}'", name)

    async def check_resource(self, actor: Actor, uri: str, org: OrgConfig) -> None:
        allow = AllowList.of(actor)
        if allow is not None and not allow.resource(uri, *_resource_owner(org, uri)):
            raise outside_allow_list(f"read resource '{uri}'", {"uri": uri})
        await self.require(actor, RESOURCES_READ, f"read resource '{uri}'", uri)

    async def check_completion(
        self, actor: Actor, org: OrgConfig, prompt: str | None, template: str | None
    ) -> None:
        """Completing a prompt's or a resource template's arguments needs leave to reach that prompt or
        template (pass the one named by the request's `ref`)."""
        allow = AllowList.of(actor)
        if allow is not None:
            if prompt is not None and not allow.prompt(prompt, _prompt_plugin(org, prompt)):
                raise outside_allow_list(f"complete prompt '{prompt}'", {"prompt": prompt})
            if template is not None and not allow.resource(template, _template_plugin(org, template)):
                raise outside_allow_list(f"complete resource template '{template}'", {"uri": template})
        await self.require(actor, PROMPTS_READ, "complete arguments")

    async def prompts(self, actor: Actor, org: OrgConfig) -> list[types.Prompt]:
        if not await self.access.allowed(actor, PROMPTS_READ):
            return []
        allow = AllowList.of(actor)
        if allow is None:
            return org.listings.prompts
        return [p for p in org.listings.prompts if allow.prompt(p.name, _prompt_plugin(org, p.name))]

    async def resources(self, actor: Actor, org: OrgConfig) -> list[types.Resource]:
        if not await self.access.allowed(actor, RESOURCES_READ):
            return []
        allow = AllowList.of(actor)
        if allow is None:
            return org.listings.resources
        # A fixed resource is served as itself, never through a template: listed by its URI or server.
        return [
            r for r in org.listings.resources if allow.resource(str(r.uri), _fixed_plugin(org, str(r.uri)))
        ]

    async def templates(self, actor: Actor, org: OrgConfig) -> list[types.ResourceTemplate]:
        if not await self.access.allowed(actor, RESOURCES_READ):
            return []
        allow = AllowList.of(actor)
        if allow is None:
            return org.listings.templates
        return [
            t
            for t in org.listings.templates
            if allow.resource(t.uri_template, _template_plugin(org, t.uri_template))
        ]

    async def require(self, actor: Actor, permission: str, what: str, target: str | None = None) -> None:
        if not await self.access.allowed(actor, permission, target):
            raise denied(actor, permission, what)


def outside_allow_list(what: str, data: dict[str, str]) -> MCPError:
    return MCPError(
        PERMISSION_DENIED, f"Permission denied: this API key may not {what} (not in its allow-list)", data
    )


def _prompt_plugin(org: OrgConfig, name: str) -> str | None:
    owned = org.prompts.get(name)
    return owned.plugin if owned else None


def _fixed_plugin(org: OrgConfig, uri: str) -> str | None:
    owned = org.resources.get(uri)
    return owned.plugin if owned else None


def _template_plugin(org: OrgConfig, template: str) -> str | None:
    owned = org.templates.get(template)
    return owned.plugin if owned else None


def _resource_owner(org: OrgConfig, uri: str) -> tuple[str | None, str | None]:
    """(plugin, URI template) that would serve `uri` for `org`, in the router's order (fixed ones first)."""
    if uri in org.resources:
        return org.resources[uri].plugin, None
    for template, owned in org.templates.items():
        if owned.item.match(uri) is not None:
            return owned.plugin, template
    return None, None


def denied(actor: Actor, permission: str, what: str) -> MCPError:
    return MCPError(
        PERMISSION_DENIED,
        f"Permission denied: {actor.kind} with role '{actor.role}' may not {what} (needs {permission})",
        {"permission": permission},
    )
