"""An organization's effective configuration: enabled servers, merged prompts and resources, settings.

Defaults of the servers it enabled, minus what it hid, with its overrides winning, plus its additions.
Built from the database in one pass (a handful of queries) and then served from the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mcp.types as types
from loguru import logger
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, select

from omni_mcp.capabilities.prompts import Completer, Prompt, PromptArgument
from omni_mcp.capabilities.resources import Resource
from omni_mcp.config.models import DefaultPrompt, DefaultResource, OrganizationPrompt, OrganizationResource
from omni_mcp.db.models import McpServer
from omni_mcp.db.scoping import org_session
from omni_mcp.gateway.capabilities import CapabilityMap
from omni_mcp.security.secrets import SecretBox, SecretDecryptionError
from omni_mcp.tenancy import plugin_settings
from omni_mcp.tenancy.models import Organization, OrganizationService


class UnknownOrganization(LookupError):
    """No organization has this slug."""


@dataclass(frozen=True)
class ServedItem:
    """A prompt or resource as served to one org: the plugin it belongs to (None for the org's own)."""

    plugin: str | None
    item: Any


@dataclass(frozen=True)
class OrgConfig:
    organization_id: int
    slug: str
    enabled_plugins: frozenset[str]
    prompts: dict[str, ServedItem]
    resources: dict[str, ServedItem]
    templates: dict[str, ServedItem]
    settings: dict[str, BaseModel] = field(default_factory=dict)
    settings_errors: dict[str, str] = field(default_factory=dict)
    listings: Listings = field(default_factory=lambda: Listings([], [], [], []))
    audit_arguments: bool = False
    federated_tools: Mapping[str, Any] = field(default_factory=dict)
    """The organization's own upstreams' tools (name -> gateway Owned[ToolDefinition]), beside plugins'."""

    def tool_allowed(self, plugin: str) -> bool:
        return plugin in self.enabled_plugins

    def find_tool(self, plugin_tools: Mapping[str, Any], name: str) -> Any | None:
        """The tool `name` as this organization serves it (a plugin's or an upstream's), or None."""
        owned = self.federated_tools.get(name) or plugin_tools.get(name)
        return owned if owned is not None and self.tool_allowed(owned.plugin) else None


@dataclass(frozen=True)
class Listings:
    """The list results this organization sees, built once per load rather than per request."""

    tools: list[types.Tool]
    prompts: list[types.Prompt]
    resources: list[types.Resource]
    templates: list[types.ResourceTemplate]


def load_org_config(
    engine: Engine,
    slug: str,
    capabilities: CapabilityMap,
    box: SecretBox,
    enabled_by_default: bool,
    operator_settings: Mapping[str, Mapping[str, Any]] | None = None,
    federated: Callable[[int, str], Any] | None = None,
) -> OrgConfig:
    with Session(engine) as session:
        org = session.exec(select(Organization).where(Organization.slug == slug)).first()
    if org is None or org.id is None:
        raise UnknownOrganization(slug)
    org_id = org.id
    plugins = _served_plugins(capabilities)
    with org_session(engine, org_id) as session:
        services = {
            server.name: service
            for service, server in session.exec(select(OrganizationService, McpServer).join(McpServer)).all()
        }
        enabled = frozenset(
            name for name in plugins if (services[name].enabled if name in services else enabled_by_default)
        )
        default_prompts = session.exec(
            select(DefaultPrompt, McpServer.name).join(McpServer).where(McpServer.name.in_(enabled))  # type: ignore[attr-defined]
        ).all()
        default_resources = session.exec(
            select(DefaultResource, McpServer.name).join(McpServer).where(McpServer.name.in_(enabled))  # type: ignore[attr-defined]
        ).all()
        org_prompts = session.exec(select(OrganizationPrompt)).all()
        org_resources = session.exec(select(OrganizationResource)).all()

    prompts: dict[str, ServedItem] = {
        name: ServedItem(owned.plugin, owned.item)
        for name, owned in capabilities.prompts.items()
        if owned.plugin in enabled and owned.item.template is None  # code-rendered: not in the database
    }
    # Template prompts are rows (so organizations can override them); the plugin's completer stays code.
    completers = {name: owned.item.complete for name, owned in capabilities.prompts.items()}
    for row, plugin in default_prompts:
        prompts[row.name] = ServedItem(
            plugin,
            _prompt(
                row.name, row.title, row.description, row.arguments, row.template, completers.get(row.name)
            ),
        )
    for org_row in org_prompts:
        if org_row.hidden:
            prompts.pop(org_row.name, None)
        elif org_row.template is not None:
            owner = prompts[org_row.name].plugin if org_row.name in prompts else None
            prompts[org_row.name] = ServedItem(
                owner,
                _prompt(
                    org_row.name,
                    org_row.title,
                    org_row.description,
                    org_row.arguments,
                    org_row.template,
                    completers.get(org_row.name) if owner is not None else None,
                ),
            )

    resources: dict[str, ServedItem] = {
        uri: ServedItem(owned.plugin, owned.item)
        for uri, owned in capabilities.resources.items()
        if owned.plugin in enabled and owned.item.text is None  # dynamic: read by code
    }
    for resource_row, plugin in default_resources:
        resources[resource_row.uri] = ServedItem(plugin, _resource(resource_row))
    for org_resource in org_resources:
        if org_resource.hidden:
            resources.pop(org_resource.uri, None)
        elif org_resource.text is not None:
            owner = resources[org_resource.uri].plugin if org_resource.uri in resources else None
            resources[org_resource.uri] = ServedItem(owner, _resource(org_resource))
    templates = {
        key: ServedItem(owned.plugin, owned.item)
        for key, owned in capabilities.templates.items()
        if owned.plugin in enabled
    }

    settings, errors = _settings(services, capabilities, enabled, box, operator_settings or {})
    # The organization's own upstreams (omni_mcp.federation): a plugin's name or URI wins over theirs.
    upstream = federated(org_id, slug) if federated is not None else None
    federated_tools: dict[str, Any] = {}
    if upstream is not None:
        enabled = enabled | upstream.owners
        federated_tools = {n: o for n, o in upstream.tools.items() if n not in capabilities.tools}
        merges = (
            (prompts, upstream.prompts),
            (resources, upstream.resources),
            (templates, upstream.templates),
        )
        for target, extra in merges:
            for key, owned in extra.items():
                target.setdefault(key, ServedItem(owned.plugin, owned.item))
    listings = Listings(
        tools=[
            tool
            for name, tool in capabilities.listed_tools.items()
            if capabilities.tools[name].plugin in enabled
        ]
        + [owned.item.to_mcp() for owned in federated_tools.values()],
        prompts=[owned.item.to_mcp() for owned in prompts.values()],
        resources=[owned.item.to_mcp() for owned in resources.values()],
        templates=[owned.item.to_mcp() for owned in templates.values()],
    )
    return OrgConfig(
        org_id,
        slug,
        enabled,
        prompts,
        resources,
        templates,
        settings,
        errors,
        listings,
        org.audit_arguments,
        federated_tools,
    )


def _served_plugins(capabilities: CapabilityMap) -> set[str]:
    plugins = {owned.plugin for owned in capabilities.tools.values()}
    plugins |= {owned.plugin for owned in capabilities.prompts.values()}
    plugins |= {owned.plugin for owned in capabilities.resources.values()}
    plugins |= {owned.plugin for owned in capabilities.templates.values()}
    return plugins | set(capabilities.settings_models)


def _settings(
    services: dict[str, OrganizationService],
    capabilities: CapabilityMap,
    enabled: frozenset[str],
    box: SecretBox,
    operator_settings: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, BaseModel], dict[str, str]]:
    settings: dict[str, BaseModel] = {}
    errors: dict[str, str] = {}
    for plugin, model in capabilities.settings_models.items():
        if plugin not in enabled:
            continue
        stored = services[plugin].settings if plugin in services else {}
        try:
            own = plugin_settings.decode_plain(stored, box)
            values = plugin_settings.with_operator_values(model, own, operator_settings.get(plugin, {}))
            settings[plugin] = plugin_settings.validate_settings(model, values, plugin)
        except (plugin_settings.SettingsValidationError, SecretDecryptionError) as error:
            errors[plugin] = str(error)  # e.g. a required API key not set yet: the plugin reports it on use
            if isinstance(error, SecretDecryptionError):
                logger.error("settings of {} for an organization cannot be decrypted: wrong key?", plugin)
    return settings, errors


def _prompt(
    name: str,
    title: str | None,
    description: str,
    arguments: list[dict[str, Any]],
    template: str,
    complete: Completer | None = None,
) -> Prompt:
    return Prompt(
        name,
        description,
        tuple(
            PromptArgument(
                str(a["name"]),
                str(a.get("description", "")),
                bool(a.get("required")),
                str(a.get("default", "")),
            )
            for a in arguments
        ),
        template=template,
        title=title,
        complete=complete,
    )


def _resource(row: DefaultResource | OrganizationResource) -> Resource:
    return Resource(
        row.uri,
        row.name or row.uri,
        description=row.description,
        mime_type=row.mime_type,
        text=row.text or "",
        title=row.title,
    )
