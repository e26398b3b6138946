"""One map of every tool, prompt and resource the plugins contribute, with the plugin behind each."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import mcp.types as types
from pydantic import BaseModel

from omni_mcp.capabilities.prompts import Prompt
from omni_mcp.capabilities.resources import Resource, ResourceTemplate
from omni_mcp.capabilities.tools import ToolDefinition, ToolGroup
from omni_mcp.capabilities.validation import (
    InvalidName,
    check_prompt_name,
    check_resource_uri,
    check_template_size,
    check_uri_template,
)
from omni_mcp.errors import StartupError
from omni_mcp.plugins import PluginHost

T = TypeVar("T")


class CapabilityClash(StartupError):
    """Two plugins contribute the same name; start-up stops and names both."""


@dataclass(frozen=True)
class Owned(Generic[T]):
    """A capability and the plugin that contributed it."""

    plugin: str
    item: T


@dataclass
class CapabilityMap:
    tools: dict[str, Owned[ToolDefinition]] = field(default_factory=dict)
    prompts: dict[str, Owned[Prompt]] = field(default_factory=dict)
    resources: dict[str, Owned[Resource]] = field(default_factory=dict)
    templates: dict[str, Owned[ResourceTemplate]] = field(default_factory=dict)
    settings_models: dict[str, type[BaseModel]] = field(default_factory=dict)

    def without(self, plugins: set[str]) -> CapabilityMap:
        """The same map with the capabilities of `plugins` withheld."""

        def keep(items: dict[str, Owned[Any]]) -> dict[str, Owned[Any]]:
            return {key: owned for key, owned in items.items() if owned.plugin not in plugins}

        return CapabilityMap(
            tools=keep(self.tools),
            prompts=keep(self.prompts),
            resources=keep(self.resources),
            templates=keep(self.templates),
            settings_models={k: v for k, v in self.settings_models.items() if k not in plugins},
        )

    @functools.cached_property
    def listed_tools(self) -> dict[str, types.Tool]:
        """Each tool as tools/list shows it, built once (schemas are not free to generate)."""
        return {name: owned.item.to_mcp() for name, owned in self.tools.items()}

    def plugin_of(self, kind: str, key: str) -> str | None:
        owned = getattr(self, kind).get(key)
        return owned.plugin if owned else None


@dataclass
class Collected:
    capabilities: CapabilityMap
    failed: dict[str, str]  # plugin -> why its contributions could not be collected


async def collect_capabilities(host: PluginHost, *, max_template_chars: int | None = None) -> Collected:
    """Ask every plugin once for what it contributes. A clash raises; a failing plugin is marked (as is
    one contributing a prompt or resource that may not exist: a bad name, URI or oversized template)."""
    found = CapabilityMap()
    failed: dict[str, str] = {}

    def fail(plugin: str, hook: str, error: BaseException | str) -> None:
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        failed.setdefault(plugin, f"{hook} failed: {reason}")

    async for plugin, result, error in host.call_each("register_tools"):
        if error is not None:
            fail(plugin, "register_tools", error)
            continue
        for group in _as_list(result):
            if not isinstance(group, ToolGroup):
                fail(plugin, "register_tools", f"returned {type(group).__name__}, expected ToolGroup")
                continue
            for tool in group.tools:
                _add(found.tools, tool.name, Owned(plugin, tool), "tool")

    async for plugin, result, error in host.call_each("register_prompts"):
        if error is not None:
            fail(plugin, "register_prompts", error)
            continue
        for prompt in _as_list(result):
            if not isinstance(prompt, Prompt):
                fail(plugin, "register_prompts", f"returned {type(prompt).__name__}, expected Prompt")
                continue
            try:
                check_prompt_name(prompt.name)
                if prompt.template is not None and max_template_chars is not None:
                    check_template_size(prompt.name, prompt.template, max_template_chars)
            except InvalidName as invalid:
                fail(plugin, "register_prompts", str(invalid))
                continue
            _add(found.prompts, prompt.name, Owned(plugin, prompt), "prompt")

    async for plugin, result, error in host.call_each("register_resources"):
        if error is not None:
            fail(plugin, "register_resources", error)
            continue
        for resource in _as_list(result):
            try:
                if isinstance(resource, Resource):
                    check_resource_uri(resource.uri)
                elif isinstance(resource, ResourceTemplate):
                    check_uri_template(resource.uri_template)
            except InvalidName as invalid:
                fail(plugin, "register_resources", str(invalid))
                continue
            if isinstance(resource, Resource):
                _add(found.resources, resource.uri, Owned(plugin, resource), "resource")
            elif isinstance(resource, ResourceTemplate):
                _add(found.templates, resource.uri_template, Owned(plugin, resource), "resource template")
            else:
                fail(plugin, "register_resources", f"returned {type(resource).__name__}, expected Resource")

    async for plugin, result, error in host.call_each("register_settings"):
        if error is not None:
            fail(plugin, "register_settings", error)
        elif isinstance(result, type) and issubclass(result, BaseModel):
            found.settings_models[plugin] = result
        elif result is not None:
            fail(plugin, "register_settings", f"returned {result!r}, expected a pydantic model class")

    return Collected(found, failed)


def _add(target: dict[str, Owned[T]], key: str, owned: Owned[T], kind: str) -> None:
    existing = target.get(key)
    if existing is not None:
        if existing.plugin == owned.plugin:
            raise CapabilityClash(f"plugin {owned.plugin!r} registers {kind} {key!r} twice")
        first, second = sorted((existing.plugin, owned.plugin))  # the same message whatever the order
        raise CapabilityClash(
            f"{kind} {key!r} is registered by both plugin {first!r} and plugin {second!r}; "
            "block one of them (plugins.block) or rename it"
        )
    target[key] = owned


def _as_list(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, Iterable) and not isinstance(result, str | bytes | ToolGroup):
        return list(result)
    return [result]
