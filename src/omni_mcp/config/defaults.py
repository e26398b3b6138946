"""Plugins' default prompts and resources, written into the database where organizations override them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Engine
from sqlmodel import Session, select

from omni_mcp.capabilities.prompts import Prompt
from omni_mcp.capabilities.resources import Resource, ResourceTemplate
from omni_mcp.config.models import DefaultPrompt, DefaultResource
from omni_mcp.db.models import McpServer, utcnow


def prompt_arguments_json(prompt: Prompt) -> list[dict[str, object]]:
    return [
        {"name": a.name, "description": a.description, "required": a.required}
        | ({"default": a.default} if a.default else {})
        for a in prompt.arguments
    ]


def sync_defaults(
    engine: Engine, servers: Mapping[str, tuple[str, Sequence[Prompt], Sequence[Resource | ResourceTemplate]]]
) -> None:
    """Write plugins' template prompts and static text resources into the default tables.

    Idempotent; a row is rewritten only when its plugin's version changed; never touches org rows.
    `servers` maps plugin name -> (version, prompts, resources).
    """
    with Session(engine) as session:
        records = {row.name: row for row in session.exec(select(McpServer)).all()}
        prompts = {row.name: row for row in session.exec(select(DefaultPrompt)).all()}
        resources = {row.uri: row for row in session.exec(select(DefaultResource)).all()}
        for plugin, (version, plugin_prompts, plugin_resources) in servers.items():
            record = records.get(plugin)
            if record is None:
                record = McpServer(name=plugin, version=version)
                session.add(record)
                session.flush()
            assert record.id is not None
            for prompt in plugin_prompts:
                if prompt.template is None:
                    continue  # rendered by code: nothing to store
                row = prompts.get(prompt.name)
                if row is not None and row.plugin_version == version and row.server_id == record.id:
                    continue
                row = row or DefaultPrompt(
                    server_id=record.id, name=prompt.name, template="", plugin_version=""
                )
                row.server_id = record.id
                row.title = prompt.title
                row.description = prompt.description
                row.arguments = prompt_arguments_json(prompt)
                row.template = prompt.template
                row.plugin_version = version
                row.updated_at = utcnow()
                session.add(row)
            for resource in plugin_resources:
                if not isinstance(resource, Resource) or resource.text is None:
                    continue
                existing = resources.get(resource.uri)
                if (
                    existing is not None
                    and existing.plugin_version == version
                    and existing.server_id == record.id
                ):
                    continue
                existing = existing or DefaultResource(
                    server_id=record.id, uri=resource.uri, name=resource.name, text="", plugin_version=""
                )
                existing.server_id = record.id
                existing.name = resource.name
                existing.title = resource.title
                existing.description = resource.description
                existing.mime_type = resource.mime_type
                existing.text = resource.text
                existing.plugin_version = version
                existing.updated_at = utcnow()
                session.add(existing)
        session.commit()
