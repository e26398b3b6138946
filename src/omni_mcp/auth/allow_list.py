"""What a caller with an allow-list (an API key made with --tools/--prompts/--resources/--servers) may reach.

A caller without any allow-list reaches whatever its role allows. Once any one is set, the caller reaches
only what is named: a tool or prompt by name, a resource by URI or by the URI template that serves it, or
everything a server (plugin) contributes. A kind left unset then counts as empty, so a key limited to
tools reaches no prompt or resource. Checks take the name the caller asked for and the plugin that would
serve it (None when nothing does), so a refusal looks the same whether the name exists or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from omni_mcp.context import Actor

NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AllowList:
    tools: frozenset[str] = NOTHING
    prompts: frozenset[str] = NOTHING
    resources: frozenset[str] = NOTHING
    """Resource URIs and URI templates."""
    servers: frozenset[str] = NOTHING

    @classmethod
    def of(cls, actor: Actor) -> AllowList | None:
        """The actor's allow-list, or None when it has none (it reaches what its role allows)."""
        lists = (actor.allowed_tools, actor.allowed_prompts, actor.allowed_resources, actor.allowed_servers)
        if all(names is None for names in lists):
            return None
        tools, prompts, resources, servers = (names or NOTHING for names in lists)
        return cls(tools, prompts, resources, servers)

    def tool(self, name: str, plugin: str | None) -> bool:
        return name in self.tools or self._server(plugin)

    def prompt(self, name: str, plugin: str | None) -> bool:
        return name in self.prompts or self._server(plugin)

    def resource(self, uri: str, plugin: str | None, template: str | None = None) -> bool:
        """`template` is the URI template serving `uri`, when a template (not a fixed resource) does."""
        return (
            uri in self.resources
            or (template is not None and template in self.resources)
            or self._server(plugin)
        )

    def _server(self, plugin: str | None) -> bool:
        return plugin is not None and plugin in self.servers
