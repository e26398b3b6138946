"""Management commands: rename/delete organizations, remove members and change roles, read the audit,
and print a new encryption key. The logic is the service layer's (TenancyService, AuditReader)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from omni_mcp.cli_common import CLI_ACTOR, cli, config_option, emit, json_option, run
from omni_mcp.cli_config import member, org


def confirm(yes: bool, question: str) -> None:
    """Go on with --yes, or when the user answers yes; anything else aborts without a change."""
    if not yes and not click.confirm(question, default=False):
        raise click.ClickException("nothing changed (confirm with --yes)")


yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


@org.command("rename")
@click.argument("organization")
@click.argument("new_slug")
@click.option("--name", default=None, help="New display name too.")
@yes_option
@config_option
@json_option
def org_rename(
    organization: str, new_slug: str, name: str | None, yes: bool, config_file: Path | None, as_json: bool
) -> None:
    """Rename ORGANIZATION to NEW_SLUG (API keys, members and settings stay with it; callers whose
    tokens name the old slug no longer reach it)."""
    confirm(yes, f"Rename organization {organization} to {new_slug}?")
    result = run(
        config_file,
        lambda rt: rt.tenancy.rename_organization(organization, new_slug, name=name, actor=CLI_ACTOR),
    )
    emit(result, as_json, [f"renamed organization {organization} to {result['slug']} ({result['name']})"])


@org.command("delete")
@click.argument("organization")
@yes_option
@config_option
@json_option
def org_delete(organization: str, yes: bool, config_file: Path | None, as_json: bool) -> None:
    """Delete ORGANIZATION with its members, settings, prompts, resources, API keys and call records."""
    confirm(
        yes,
        f"Delete organization {organization} with its members, settings, prompts, resources, "
        "API keys and call records? This cannot be undone.",
    )
    result = run(config_file, lambda rt: rt.tenancy.delete_organization(organization, actor=CLI_ACTOR))
    emit(result, as_json, [f"deleted organization {organization}"])


@member.command("remove")
@click.argument("organization")
@click.argument("user")
@yes_option
@config_option
@json_option
def member_remove(organization: str, user: str, yes: bool, config_file: Path | None, as_json: bool) -> None:
    """Remove USER from ORGANIZATION."""
    confirm(yes, f"Remove {user} from {organization}?")
    result = run(config_file, lambda rt: rt.tenancy.remove_member(organization, user, actor=CLI_ACTOR))
    emit(result, as_json, [f"removed {user} from {organization}"])


@member.command("role")
@click.argument("organization")
@click.argument("user")
@click.argument("role", type=click.Choice(["owner", "admin", "member"]))
@config_option
@json_option
def member_role(organization: str, user: str, role: str, config_file: Path | None, as_json: bool) -> None:
    """Change USER's role in ORGANIZATION (their extra permissions stay)."""
    result = run(
        config_file, lambda rt: rt.tenancy.set_member_role(organization, user, role, actor=CLI_ACTOR)
    )
    emit(result, as_json, [f"{user} is {role} of {organization}"])


# the audit


def _moment(text: str | None) -> datetime | None:
    """An ISO date/time (UTC unless it says otherwise) or a duration ago: 30m, 12h, 7d, 2w."""
    if text is None:
        return None
    from omni_mcp.auth.api_keys import parse_duration
    from omni_mcp.tenancy.service import ConfigError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return datetime.now(UTC) - parse_duration(text)
        except ConfigError:
            raise click.BadParameter(
                f"{text!r} is neither an ISO date/time (2026-11-29T10:00) nor a duration ago (30m, 12h, 7d)"
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _filters(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--org", "organization", default=None, help="Only this organization."),
            click.option("--actor", default=None, help="Only this actor (user id, key:ID, cli, system)."),
            click.option("--since", default=None, help="From: ISO date/time, or a duration ago (7d)."),
            click.option("--until", default=None, help="Before: ISO date/time, or a duration ago."),
            click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True),
            config_option,
            json_option,
        ]
    ):
        fn = option(fn)
    return fn


@cli.group()
def audit() -> None:
    """Read the audit: configuration changes and calls, newest first."""


@audit.command("changes")
@click.option("--action", default=None, help="Only this action (create, update, delete, rename, ...).")
@_filters
def audit_changes(
    action: str | None,
    organization: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Who changed what: organizations, members, services, prompts, resources, API keys."""
    from omni_mcp.audit.query import AuditFilter, AuditReader

    where = AuditFilter(organization, actor, action, None, _moment(since), _moment(until), limit)
    rows = run(config_file, lambda rt: AuditReader(rt.engine).changes(where))
    emit(
        rows,
        as_json,
        [
            f"{r['at']:%Y-%m-%d %H:%M:%S} {r['organization'] or '-':<20} {r['actor']:<24} "
            f"{r['action']:<12} {r['entity_type']} {r['entity_id']}"
            for r in rows
        ],
    )


@audit.command("calls")
@click.option("--tool", "name", default=None, help="Only this tool, prompt or resource.")
@click.option("--outcome", type=click.Choice(["ok", "error", "denied", "timeout"]), default=None)
@_filters
def audit_calls(
    name: str | None,
    outcome: str | None,
    organization: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Tool calls, prompt gets and resource reads: who, what, outcome and duration."""
    from omni_mcp.audit.query import AuditFilter, AuditReader

    where = AuditFilter(organization, actor, name, outcome, _moment(since), _moment(until), limit)
    rows = run(config_file, lambda rt: AuditReader(rt.engine).calls(where))
    emit(
        rows,
        as_json,
        [
            f"{r['at']:%Y-%m-%d %H:%M:%S} {r['organization']:<20} {r['actor']:<24} {r['outcome']:<8} "
            f"{r['kind']} {r['name']} ({r['duration_ms']:.0f} ms)"
            for r in rows
        ],
    )


# encryption keys


@cli.group()
def keys() -> None:
    """Encryption keys for secret settings."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new key for security.encryption_keys (give every process that shares a database the same)."""
    from omni_mcp.security.secrets import generate_key

    click.echo(generate_key())


# tools of one organization


def organization_tools(config_file: Path | None, organization: str) -> list[dict[str, Any]]:
    """The tools ORGANIZATION serves (its enabled servers'), as its callers list them, with the extra
    permission a tool needs beyond tools:call (an API key's allow-list may narrow them further)."""
    from omni_mcp.runtime import Runtime

    def listing(rt: Runtime) -> list[dict[str, Any]]:
        rt.tenancy.organization_id(organization)  # unknown: a ConfigError saying how to create it
        config = rt.load_org_config(organization)
        rows = []
        for tool in config.listings.tools:
            owned = rt.capabilities.tools[tool.name]
            rows.append(
                {
                    "name": tool.name,
                    "plugin": owned.plugin,
                    "permission": owned.item.permission,
                    "description": tool.description or "",
                }
            )
        return rows

    return run(config_file, listing)
