"""omni-mcp: many MCP servers behind one gateway. This module is the public API for plugin authors."""

from omni_mcp.__about__ import __version__
from omni_mcp.app import create_app
from omni_mcp.capabilities.prompts import Prompt, PromptArgument
from omni_mcp.capabilities.resources import Resource, ResourceTemplate
from omni_mcp.capabilities.tools import ToolError, ToolGroup, ToolResult
from omni_mcp.context import Actor, CallContext
from omni_mcp.health import Health
from omni_mcp.hookspecs import hookimpl
from omni_mcp.runtime import Runtime
from omni_mcp.settings import Settings, load_settings
from omni_mcp.storage.store import PluginStore

__all__ = [
    "Actor",
    "CallContext",
    "Health",
    "PluginStore",
    "Prompt",
    "PromptArgument",
    "Resource",
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
]
