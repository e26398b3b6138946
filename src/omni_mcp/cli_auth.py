"""API key commands: create (the key is shown once), list, revoke. Each change writes an audit row."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from omni_mcp.cli_common import CLI_ACTOR, cli, config_option, emit, json_option, run
from omni_mcp.tenancy.models import ROLES

if TYPE_CHECKING:
    from omni_mcp.auth.api_keys import CreatedKey
    from omni_mcp.runtime import Runtime


@cli.group()
def apikey() -> None:
    """API keys for services calling the gateway (Authorization: Bearer KEY, or X-API-Key: KEY)."""


@apikey.command("create")
@click.argument("organization")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--tools", default=None, help="Comma-separated tool names the key may call.")
@click.option("--prompts", default=None, help="Comma-separated prompt names the key may get.")
@click.option(
    "--resources", default=None, help="Comma-separated resource URIs or URI templates the key may read."
)
@click.option(
    "--servers",
    default=None,
    help="Comma-separated servers (plugins) whose every tool, prompt and resource it may use.",
)
@click.option("--permission", "permissions", multiple=True, help="Extra permission (repeatable).")
@click.option("--expires", default=None, help="Lifetime, e.g. 90d, 12h, 30m, 2w (default: never).")
@click.option("--name", default="", help="A label to recognise the key by.")
@config_option
@json_option
def apikey_create(
    organization: str,
    role: str,
    tools: str | None,
    prompts: str | None,
    resources: str | None,
    servers: str | None,
    permissions: tuple[str, ...],
    expires: str | None,
    name: str,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Create an API key for ORGANIZATION and print it (this once: only its hash is stored).

    Without --tools, --prompts, --resources or --servers the key reaches whatever its role allows. With any
    of them it reaches only what they name: a key made with --tools alone gets no prompt or resource."""
    from omni_mcp.auth.api_keys import parse_duration
    from omni_mcp.default_plugins.api_keys import api_key_service
    from omni_mcp.tenancy.service import ConfigError

    try:
        lifetime = parse_duration(expires) if expires else None
    except ConfigError as error:
        raise click.ClickException(str(error)) from None

    def create(rt: Runtime) -> CreatedKey:
        if organization == rt.settings.tenancy.default_organization:  # exists once `serve` ran; maybe not yet
            rt.tenancy.ensure_organization(organization, actor=CLI_ACTOR)
        return api_key_service(rt).create(
            organization,
            role=role,
            actor=CLI_ACTOR,
            permissions=permissions,
            tools=_names(tools),
            prompts=_names(prompts),
            resources=_names(resources),
            servers=_names(servers),
            expires_in=lifetime,
            name=name,
        )

    created = run(config_file, create)
    for warning in created.warnings:
        click.echo(f"warning: {warning}", err=True)
    view = created.view
    expiry = f", expires {view['expires_at']}" if view["expires_at"] else ""
    emit(
        {**view, "key": created.key},
        as_json,
        [
            f"created API key {view['id']} for {organization} (role {role}{expiry})",
            "",
            f"    {created.key}",
            "",
            "Store it now: it is not shown again.",
            "Send it as 'Authorization: Bearer <key>' or as 'X-API-Key: <key>'.",
        ],
    )


@apikey.command("list")
@click.argument("organization")
@config_option
@json_option
def apikey_list(organization: str, config_file: Path | None, as_json: bool) -> None:
    """List ORGANIZATION's API keys (never the keys themselves)."""
    from omni_mcp.default_plugins.api_keys import api_key_service

    rows = run(config_file, lambda rt: api_key_service(rt).list_keys(organization))
    emit(
        rows,
        as_json,
        [
            f"{r['id']:<14} {r['status']:<8} {r['role']:<7} {r['name'] or '-':<20} "
            f"{_reach(r)} "
            f"expires={r['expires_at'] or 'never'} last_used={r['last_used_at'] or 'never'}"
            for r in rows
        ],
    )


def _names(listed: str | None) -> list[str] | None:
    return listed.split(",") if listed is not None else None


def _reach(row: dict[str, Any]) -> str:
    kinds = ("tools", "prompts", "resources", "servers")
    if all(row[kind] is None for kind in kinds):
        return "reaches everything its role allows"
    return "reaches " + " ".join(f"{kind}={','.join(row[kind]) or 'none'}" for kind in kinds)


@apikey.command("revoke")
@click.argument("key_id", metavar="ID")
@config_option
@json_option
def apikey_revoke(key_id: str, config_file: Path | None, as_json: bool) -> None:
    """Revoke the API key ID (its visible prefix, e.g. omk_k3x9a2bq); it stops working at once."""
    from omni_mcp.default_plugins.api_keys import api_key_service

    result = run(config_file, lambda rt: api_key_service(rt).revoke(key_id, actor=CLI_ACTOR))
    emit(result, as_json, [f"API key {result['id']} of {result['organization']} is revoked"])
