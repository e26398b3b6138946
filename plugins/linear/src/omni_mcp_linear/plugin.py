"""The module the `linear` entry point names: one hook per kind of contribution."""

from __future__ import annotations

from omni_mcp import Prompt, Resource, ResourceTemplate, ToolGroup, hookimpl
from omni_mcp_linear import __version__
from omni_mcp_linear.prompts import prompts
from omni_mcp_linear.resources import resources
from omni_mcp_linear.settings import LinearSettings
from omni_mcp_linear.tools import group

__all__ = ["__version__", "register_prompts", "register_resources", "register_settings", "register_tools"]


@hookimpl
def register_tools() -> ToolGroup:
    return group


@hookimpl
def register_prompts() -> list[Prompt]:
    return prompts()


@hookimpl
def register_resources() -> list[Resource | ResourceTemplate]:
    return resources()


@hookimpl
def register_settings() -> type[LinearSettings]:
    return LinearSettings
