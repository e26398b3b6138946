"""omni-mcp: many MCP servers behind one gateway. This module is the public API for plugin authors."""

from typing import TYPE_CHECKING, Any

from omni_mcp.__about__ import __version__

if TYPE_CHECKING:
    from omni_mcp.app import create_app
    from omni_mcp.capabilities.prompts import Prompt, PromptArgument
    from omni_mcp.capabilities.resources import Resource, ResourceNotFound, ResourceTemplate
    from omni_mcp.capabilities.tools import ToolError, ToolGroup, ToolResult
    from omni_mcp.context import Actor, CallContext
    from omni_mcp.health import Health
    from omni_mcp.hookspecs import hookimpl
    from omni_mcp.redaction import redact_secrets
    from omni_mcp.runtime import Runtime
    from omni_mcp.settings import Settings, load_settings
    from omni_mcp.storage.store import PluginStore
    from omni_mcp.upstream import retry_after_seconds

# Each name is imported on first use: the application alone pulls in the SDK's server, alembic and the
# database layer, and `omni-mcp --version` (or a CLI command that needs none of it) should not wait.
_WHERE = {
    "create_app": "omni_mcp.app",
    "Prompt": "omni_mcp.capabilities.prompts",
    "PromptArgument": "omni_mcp.capabilities.prompts",
    "Resource": "omni_mcp.capabilities.resources",
    "ResourceNotFound": "omni_mcp.capabilities.resources",
    "ResourceTemplate": "omni_mcp.capabilities.resources",
    "ToolError": "omni_mcp.capabilities.tools",
    "ToolGroup": "omni_mcp.capabilities.tools",
    "ToolResult": "omni_mcp.capabilities.tools",
    "Actor": "omni_mcp.context",
    "CallContext": "omni_mcp.context",
    "Health": "omni_mcp.health",
    "hookimpl": "omni_mcp.hookspecs",
    "redact_secrets": "omni_mcp.redaction",
    "Runtime": "omni_mcp.runtime",
    "Settings": "omni_mcp.settings",
    "load_settings": "omni_mcp.settings",
    "PluginStore": "omni_mcp.storage.store",
    "retry_after_seconds": "omni_mcp.upstream",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value  # once found, a plain module attribute
        return value
    raise AttributeError(f"module 'omni_mcp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Actor",
    "CallContext",
    "Health",
    "PluginStore",
    "Prompt",
    "PromptArgument",
    "Resource",
    "ResourceNotFound",
    "ResourceTemplate",
    "Runtime",
    "Settings",
    "ToolError",
    "ToolGroup",
    "ToolResult",
    "__version__",
    "create_app",
    "hookimpl",
    "load_settings",
    "redact_secrets",
    "retry_after_seconds",
]
