"""The plugin module the `conformance` entry point names: one hook per kind of contribution."""

from __future__ import annotations

from omni_mcp import Prompt, Resource, ResourceTemplate, ToolGroup, hookimpl
from omni_mcp_conformance_fixture import __version__
from omni_mcp_conformance_fixture.multi_round import multi_round
from omni_mcp_conformance_fixture.prompts import PROMPTS
from omni_mcp_conformance_fixture.resources import RESOURCES
from omni_mcp_conformance_fixture.tasks import confirm, failing, multi, protocol, slow
from omni_mcp_conformance_fixture.tools import json_schema, test

__all__ = ["__version__", "register_prompts", "register_resources", "register_tools"]


@hookimpl
def register_tools() -> list[ToolGroup]:
    return [test, multi_round, json_schema, slow, failing, protocol, confirm, multi]


@hookimpl
def register_prompts() -> list[Prompt]:
    return list(PROMPTS)


@hookimpl
def register_resources() -> list[Resource | ResourceTemplate]:
    return list(RESOURCES)
