"""`omni-mcp upstream add|list|remove`: an organization's own MCP servers, federated by the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from omni_mcp.cli_common import CLI_ACTOR, cli, config_option, emit, json_option, run

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime


@cli.group()
def upstream() -> None:
    """An organization's own MCP servers (streamable HTTP or stdio), served under <name>_<tool>."""


@upstream.command("add")
@click.argument("organization")
@click.argument("name")
@click.argument("args", nargs=-1)
@click.option("--url", default=None, help="Streamable-HTTP endpoint of the upstream.")
@click.option("--header", "headers", multiple=True, help="'Name: value' sent to the upstream (repeatable).")
@click.option("--command", default=None, help="Command of a stdio upstream; its arguments follow `--`.")
@click.option(
    "--env", "env", multiple=True, help="KEY=VALUE for a stdio upstream's environment (repeatable)."
)
@click.option("--replace", is_flag=True, help="Replace an upstream of the same name.")
@config_option
@json_option
def upstream_add(
    organization: str,
    name: str,
    args: tuple[str, ...],
    url: str | None,
    headers: tuple[str, ...],
    command: str | None,
    env: tuple[str, ...],
    replace: bool,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Add upstream NAME to ORGANIZATION, e.g.

    \b
      omni-mcp upstream add acme crm --url https://mcp.example.com/mcp --header "Authorization: Bearer ..."
      omni-mcp upstream add acme fs --command npx -- -y @modelcontextprotocol/server-filesystem /srv/docs

    Header and environment values are stored encrypted and never shown again.
    """
    header_values = dict(_pair(item, ":") for item in headers)
    env_values = dict(_pair(item, "=") for item in env)

    def add(rt: Runtime) -> dict[str, Any]:
        return rt.federation.upstreams.add(
            organization,
            name,
            url=url,
            headers=header_values,
            command=command,
            args=list(args),
            env=env_values,
            actor=CLI_ACTOR,
            replace=replace,
        )

    view = run(config_file, add)
    target = view["url"] or " ".join([view["command"], *view["args"]])
    emit(view, as_json, [f"{organization}: upstream {name} ({view['kind']}) {target}"])


@upstream.command("list")
@click.argument("organization")
@config_option
@json_option
def upstream_list(organization: str, config_file: Path | None, as_json: bool) -> None:
    """ORGANIZATION's upstreams (secret values are never shown)."""
    rows = run(config_file, lambda rt: rt.federation.upstreams.list_upstreams(organization))
    lines = [
        f"{row['name']:<24} {row['kind']:<6} {row['url'] or ' '.join([row['command'], *row['args']])}"
        for row in rows
    ]
    emit(rows, as_json, lines)


@upstream.command("remove")
@click.argument("organization")
@click.argument("name")
@config_option
def upstream_remove(organization: str, name: str, config_file: Path | None) -> None:
    """Remove upstream NAME: its tools vanish and a running stdio process is stopped."""
    run(config_file, lambda rt: rt.federation.upstreams.remove(organization, name, actor=CLI_ACTOR))
    click.echo(f"{organization}: upstream {name} removed")


def _pair(item: str, separator: str) -> tuple[str, str]:
    key, found, value = item.partition(separator)
    if not found or not key.strip():
        example = "'Name: value'" if separator == ":" else "KEY=VALUE"
        raise click.BadParameter(f"expected {example}, got {item!r}")
    return key.strip(), value.strip() if separator == ":" else value
