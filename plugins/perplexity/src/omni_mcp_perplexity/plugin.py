"""The Perplexity plugin's hooks: what it contributes to omni-mcp."""

from __future__ import annotations

from omni_mcp import Prompt, Resource, ResourceTemplate, ToolGroup, hookimpl
from omni_mcp_perplexity.prompts import PROMPTS
from omni_mcp_perplexity.resources import RESOURCES
from omni_mcp_perplexity.settings import PerplexitySettings
from omni_mcp_perplexity.tools import perplexity


@hookimpl
def register_tools() -> ToolGroup:
    return perplexity


@hookimpl
def register_prompts() -> list[Prompt]:
    return list(PROMPTS)


@hookimpl
def register_resources() -> list[Resource | ResourceTemplate]:
    return list(RESOURCES)


@hookimpl
def register_settings() -> type[PerplexitySettings]:
    return PerplexitySettings
