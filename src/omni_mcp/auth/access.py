"""Ask the `permission_allowed` hook: plugins in pluggy's order (tryfirst first, the role default last)."""

from __future__ import annotations

from loguru import logger

from omni_mcp.context import Actor
from omni_mcp.plugins import PluginHost


class AccessControl:
    def __init__(self, plugins: PluginHost) -> None:
        self._plugins = plugins

    async def allowed(self, actor: Actor, permission: str, target: str | None = None) -> bool:
        """The first answer that is not None decides; no answer at all means no."""
        arguments = {"actor": actor, "permission": permission, "target": target}
        for impl in self._plugins.implementations("permission_allowed"):
            try:
                given = {k: arguments[k] for k in impl.argnames}
                answer = await self._plugins.call_impl("permission_allowed", impl, given)
            except Exception as error:  # a broken rule must fail closed, not open
                logger.opt(exception=error).error("plugin {} failed a permission check", impl.plugin_name)
                return False
            if answer is not None:
                return bool(answer)
        return False
