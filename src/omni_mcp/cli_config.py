"""Configuration commands: organizations, members, services, prompts, resources and secret keys.

Every change goes through the TenancyService, the same layer the admin API uses.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from omni_mcp.cli_common import (
    CLI_ACTOR,
    cli,
    config_option,
    emit,
    json_option,
    run,
)

if TYPE_CHECKING:  # imported when a command runs: `omni-mcp --help` should not load the database layer
    from omni_mcp.runtime import Runtime


def read_spec(path: Path) -> dict[str, Any]:
    """A prompt or resource file: TOML (.toml) or JSON (.json)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise click.ClickException(
            f"{path} is not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {error}"
        ) from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} must hold a table/object of fields")
    return data


# organizations


@cli.group()
def org() -> None:
    """Organizations."""


@org.command("create")
@click.argument("slug")
@click.option("--name", default=None, help="Display name (default: the slug).")
@config_option
@json_option
def org_create(slug: str, name: str | None, config_file: Path | None, as_json: bool) -> None:
    """Create an organization."""
    created = run(config_file, lambda rt: rt.tenancy.create_organization(slug, name, actor=CLI_ACTOR))
    emit(created, as_json, [f"created organization {created['slug']} ({created['name']})"])


@org.command("list")
@config_option
@json_option
def org_list(config_file: Path | None, as_json: bool) -> None:
    """List organizations."""
    rows = run(config_file, lambda rt: rt.tenancy.list_organizations())
    emit(rows, as_json, [f"{r['slug']:<30} {r['name']}" for r in rows])


@org.command("audit-arguments")
@click.argument("organization")
@click.argument("state", type=click.Choice(["on", "off"]))
@config_option
@json_option
def org_audit_arguments(organization: str, state: str, config_file: Path | None, as_json: bool) -> None:
    """Keep (on) or redact (off, the default) call arguments in ORGANIZATION's call audit."""
    result = run(
        config_file, lambda rt: rt.tenancy.set_audit_arguments(organization, state == "on", actor=CLI_ACTOR)
    )
    emit(result, as_json, [f"call arguments of {organization} are {'kept' if state == 'on' else 'redacted'}"])


# members


@cli.group()
def member() -> None:
    """Organization members."""


@member.command("add")
@click.argument("organization")
@click.argument("user")
@click.option("--role", required=True, type=click.Choice(["owner", "admin", "member"]))
@click.option("--permission", "permissions", multiple=True, help="Extra permission (repeatable).")
@config_option
@json_option
def member_add(
    organization: str,
    user: str,
    role: str,
    permissions: tuple[str, ...],
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Add USER (their identity-provider id) to ORGANIZATION, or change their role."""
    result = run(
        config_file,
        lambda rt: rt.tenancy.add_member(
            organization, user, role, permissions=list(permissions), actor=CLI_ACTOR
        ),
    )
    emit(result, as_json, [f"{user} is {role} of {organization}"])


@member.command("list")
@click.argument("organization")
@config_option
@json_option
def member_list(organization: str, config_file: Path | None, as_json: bool) -> None:
    """List the members of ORGANIZATION."""
    rows = run(config_file, lambda rt: rt.tenancy.list_members(organization))
    emit(rows, as_json, [f"{r['user']:<40} {r['role']}" for r in rows])


# services


@cli.group()
def service() -> None:
    """MCP servers per organization: enable, disable, settings."""


@service.command("enable")
@click.argument("organization")
@click.argument("server")
@config_option
@json_option
def service_enable(organization: str, server: str, config_file: Path | None, as_json: bool) -> None:
    """Enable SERVER for ORGANIZATION."""
    result = run(
        config_file, lambda rt: rt.tenancy.set_service_enabled(organization, server, True, actor=CLI_ACTOR)
    )
    emit(result, as_json, [f"{server} enabled for {organization}"])


@service.command("disable")
@click.argument("organization")
@click.argument("server")
@config_option
@json_option
def service_disable(organization: str, server: str, config_file: Path | None, as_json: bool) -> None:
    """Disable SERVER for ORGANIZATION: its tools, prompts and resources disappear for it."""
    result = run(
        config_file, lambda rt: rt.tenancy.set_service_enabled(organization, server, False, actor=CLI_ACTOR)
    )
    emit(result, as_json, [f"{server} disabled for {organization}"])


@service.command("set")
@click.argument("organization")
@click.argument("server")
@click.argument("assignments", nargs=-1, required=True)
@config_option
@json_option
def service_set(
    organization: str, server: str, assignments: tuple[str, ...], config_file: Path | None, as_json: bool
) -> None:
    """Set SERVER's settings for ORGANIZATION: KEY=VALUE... (validated; secrets stored encrypted)."""
    from omni_mcp.tenancy.plugin_settings import SettingsValidationError, parse_assignments

    try:
        values = parse_assignments(list(assignments))
    except SettingsValidationError as error:
        raise click.ClickException(str(error)) from None
    result = run(
        config_file, lambda rt: rt.tenancy.set_service_settings(organization, server, values, actor=CLI_ACTOR)
    )
    shown = ", ".join(f"{k}={v}" for k, v in result["settings"].items())
    emit(result, as_json, [f"{server} settings for {organization}: {shown}"])


@service.command("list")
@click.argument("organization")
@config_option
@json_option
def service_list(organization: str, config_file: Path | None, as_json: bool) -> None:
    """List servers with whether ORGANIZATION enabled them, and their (redacted) settings."""
    rows = run(config_file, lambda rt: rt.tenancy.list_services(organization))
    emit(
        rows,
        as_json,
        [
            f"{r['server']:<24} {'enabled' if r['enabled'] else 'disabled':<9} {json.dumps(r['settings'])}"
            for r in rows
        ],
    )


# prompts and resources


def _listing(rt: Runtime, organization: str, kind: str) -> list[dict[str, Any]]:
    """Effective prompts or resources of an organization, with where each comes from, plus hidden ones."""
    from sqlmodel import select

    from omni_mcp.config.models import OrganizationPrompt, OrganizationResource
    from omni_mcp.db.scoping import org_session

    rt.tenancy.organization_id(organization)  # an unknown organization: ConfigError, saying how to create it
    config = rt.load_org_config(organization)
    model: Any = OrganizationPrompt if kind == "prompt" else OrganizationResource
    key = "name" if kind == "prompt" else "uri"
    effective = config.prompts if kind == "prompt" else config.resources
    with org_session(rt.engine, config.organization_id) as session:
        own = {getattr(row, key): row for row in session.exec(select(model)).all()}
    rows = []
    for name, owned in sorted(effective.items()):
        row = own.get(name)
        source = "default" if row is None else ("override" if owned.plugin else "organization")
        rows.append(
            {key: name, "source": source, "server": owned.plugin, "description": owned.item.description}
        )
    rows += [
        {key: name, "source": "hidden", "server": None, "description": ""}
        for name, row in own.items()
        if row.hidden
    ]
    return rows


@cli.group()
def prompt() -> None:
    """Prompts per organization: defaults, overrides, additions, hidden ones."""


@prompt.command("set")
@click.argument("organization")
@click.argument("name")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@json_option
def prompt_set(organization: str, name: str, path: Path, config_file: Path | None, as_json: bool) -> None:
    """Add prompt NAME, or override the default of that name, from a TOML or JSON file.

    \b
    Fields: template (required; {argument} placeholders), description, title,
    and [[arguments]] with name, description, required.
    """
    spec = read_spec(path)
    result = run(config_file, lambda rt: rt.tenancy.set_prompt(organization, name, spec, actor=CLI_ACTOR))
    emit(result, as_json, [f"prompt {name} set for {organization}"])


@prompt.command("hide")
@click.argument("organization")
@click.argument("name")
@config_option
@json_option
def prompt_hide(organization: str, name: str, config_file: Path | None, as_json: bool) -> None:
    """Hide prompt NAME (a default) from ORGANIZATION."""
    result = run(config_file, lambda rt: rt.tenancy.hide_prompt(organization, name, actor=CLI_ACTOR))
    emit(result, as_json, [f"prompt {name} hidden for {organization}"])


@prompt.command("delete")
@click.argument("organization")
@click.argument("name")
@config_option
@json_option
def prompt_delete(organization: str, name: str, config_file: Path | None, as_json: bool) -> None:
    """Delete ORGANIZATION's own prompt NAME (an override or hidden default comes back)."""
    run(config_file, lambda rt: rt.tenancy.delete_prompt(organization, name, actor=CLI_ACTOR))
    emit({"deleted": name}, as_json, [f"prompt {name} of {organization} deleted"])


@prompt.command("list")
@click.argument("organization")
@config_option
@json_option
def prompt_list(organization: str, config_file: Path | None, as_json: bool) -> None:
    """List ORGANIZATION's effective prompts and where each comes from."""
    rows = run(config_file, lambda rt: _listing(rt, organization, "prompt"))
    emit(rows, as_json, [f"{r['name']:<40} {r['source']:<12} {r['server'] or ''}" for r in rows])


@cli.group()
def resource() -> None:
    """Resources per organization: defaults, overrides, additions, hidden ones."""


@resource.command("set")
@click.argument("organization")
@click.argument("uri")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@json_option
def resource_set(organization: str, uri: str, path: Path, config_file: Path | None, as_json: bool) -> None:
    """Add a text resource at URI, or override the default there, from a TOML or JSON file.

    \b
    Fields: text (required), name, title, description, mime_type.
    """
    spec = read_spec(path)
    result = run(config_file, lambda rt: rt.tenancy.set_resource(organization, uri, spec, actor=CLI_ACTOR))
    emit(result, as_json, [f"resource {uri} set for {organization}"])


@resource.command("hide")
@click.argument("organization")
@click.argument("uri")
@config_option
@json_option
def resource_hide(organization: str, uri: str, config_file: Path | None, as_json: bool) -> None:
    """Hide the resource at URI from ORGANIZATION."""
    result = run(config_file, lambda rt: rt.tenancy.hide_resource(organization, uri, actor=CLI_ACTOR))
    emit(result, as_json, [f"resource {uri} hidden for {organization}"])


@resource.command("delete")
@click.argument("organization")
@click.argument("uri")
@config_option
@json_option
def resource_delete(organization: str, uri: str, config_file: Path | None, as_json: bool) -> None:
    """Delete ORGANIZATION's own resource at URI (an override or hidden default comes back)."""
    run(config_file, lambda rt: rt.tenancy.delete_resource(organization, uri, actor=CLI_ACTOR))
    emit({"deleted": uri}, as_json, [f"resource {uri} of {organization} deleted"])


@resource.command("list")
@click.argument("organization")
@config_option
@json_option
def resource_list(organization: str, config_file: Path | None, as_json: bool) -> None:
    """List ORGANIZATION's effective resources and where each comes from."""
    rows = run(config_file, lambda rt: _listing(rt, organization, "resource"))
    emit(rows, as_json, [f"{r['uri']:<50} {r['source']:<12} {r['server'] or ''}" for r in rows])


# secrets


@cli.group()
def secrets() -> None:
    """Encryption keys of secret settings."""


@secrets.command("rotate")
@config_option
@json_option
def secrets_rotate(config_file: Path | None, as_json: bool) -> None:
    """Re-encrypt every stored secret with the first key of security.encryption_keys."""
    from sqlmodel import Session, select

    from omni_mcp.audit.record import record_change
    from omni_mcp.db.models import McpServer
    from omni_mcp.tenancy.models import OrganizationService
    from omni_mcp.tenancy.plugin_settings import ENCRYPTED, redact

    def rotate(rt: Runtime) -> int:
        count = 0
        with Session(rt.engine) as session:
            rows = session.exec(select(OrganizationService, McpServer).join(McpServer)).all()
            for row, server in rows:
                secret_keys = [k for k, v in row.settings.items() if isinstance(v, dict) and ENCRYPTED in v]
                if not secret_keys:
                    continue
                row.settings = {
                    key: {ENCRYPTED: rt.secrets.rotate(value[ENCRYPTED])} if key in secret_keys else value
                    for key, value in row.settings.items()
                }
                count += len(secret_keys)
                session.add(row)
                record_change(
                    session,
                    actor=CLI_ACTOR,
                    organization_id=row.organization_id,
                    entity_type="service_settings",
                    entity_id=server.name,
                    action="rotate_key",
                    before=redact(row.settings),
                    after=redact(row.settings),
                )
            session.commit()
        return count

    count = run(config_file, rotate)
    emit({"rotated": count}, as_json, [f"re-encrypted {count} secret(s) with the newest key"])
