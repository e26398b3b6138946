"""The client side from the shell: `omni-mcp client-config CLIENT` prints a ready configuration for an MCP
client, `omni-mcp call TOOL key=value ...` calls one tool through the running gateway."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from omni_mcp.cli_common import cli, config_option, settings_or_exit
from omni_mcp.settings import Settings

CLIENTS = ("claude-desktop", "claude-code", "cursor", "vscode", "windsurf", "http")
WHERE = {
    "claude-desktop": "claude_desktop_config.json (Settings > Developer > Edit Config); needs Node's npx",
    "claude-code": ".mcp.json in your project (or: claude mcp add --transport http ...)",
    "cursor": "~/.cursor/mcp.json (or .cursor/mcp.json in a project)",
    "vscode": ".vscode/mcp.json in your workspace",
    "windsurf": "~/.codeium/windsurf/mcp_config.json",
    "http": "any streamable-HTTP MCP client",
}


def gateway_url(settings: Settings) -> str:
    """The MCP endpoint clients should use: auth.resource when the operator set it, else this machine."""
    if settings.auth.resource:
        return settings.auth.resource
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)  # noqa: S104
    return f"http://{host}:{settings.server.port}{settings.gateway.path}"


def client_config(client: str, url: str, name: str, key: str | None) -> dict[str, Any]:
    """The configuration `client` accepts for one streamable-HTTP server, with the API key if given."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if client == "claude-desktop":  # its config file takes local (stdio) servers: bridge with mcp-remote
        args = ["-y", "mcp-remote", url]
        server: dict[str, Any] = {"command": "npx", "args": args}
        if key:
            args += ["--header", "Authorization:${OMNI_MCP_AUTHORIZATION}"]  # no space inside an argument
            server["env"] = {"OMNI_MCP_AUTHORIZATION": f"Bearer {key}"}
        return {"mcpServers": {name: server}}
    if client == "claude-code":
        return {"mcpServers": {name: {"type": "http", "url": url, **_headers(headers)}}}
    if client == "cursor":
        return {"mcpServers": {name: {"url": url, **_headers(headers)}}}
    if client == "vscode":
        return {"servers": {name: {"type": "http", "url": url, **_headers(headers)}}}
    if client == "windsurf":
        return {"mcpServers": {name: {"serverUrl": url, **_headers(headers)}}}
    return {"url": url, "transport": "streamable-http", **_headers(headers)}


def _headers(headers: dict[str, str]) -> dict[str, Any]:
    return {"headers": headers} if headers else {}


@cli.command("client-config")
@click.argument("client", type=click.Choice(CLIENTS))
@click.option("--org", "organization", default=None, help="Organization the API key belongs to.")
@click.option("--key", "with_key", is_flag=True, help="Create an API key and put it in the configuration.")
@click.option("--role", default="member", show_default=True, help="Role of the created key.")
@click.option("--name", default="omni", show_default=True, help="Name of the server in the client.")
@click.option("--url", default=None, help="MCP endpoint (default: auth.resource, else this machine's).")
@config_option
def client_config_command(
    client: str,
    organization: str | None,
    with_key: bool,
    role: str,
    name: str,
    url: str | None,
    config_file: Path | None,
) -> None:
    """Print a configuration for CLIENT (claude-desktop, claude-code, cursor, vscode, windsurf, http).

    Without --key the client calls without credentials, which works in local mode (the owner of the
    default organization). With --key a new API key of --org (default: the default organization) is
    created and written into the configuration: treat the output as a secret.
    """
    settings = settings_or_exit(config_file)
    if organization is not None and not with_key:
        raise click.UsageError("--org chooses whose API key to create: add --key")
    key = _create_key(config_file, organization, role, f"client-config {client}") if with_key else None
    click.echo(json.dumps(client_config(client, url or gateway_url(settings), name, key), indent=2))
    click.echo(f"# paste into {WHERE[client]}", err=True)


def _create_key(config_file: Path | None, organization: str | None, role: str, label: str) -> str:
    from omni_mcp.cli_common import CLI_ACTOR, run
    from omni_mcp.default_plugins.api_keys import api_key_service

    def create(rt: Any) -> str:
        slug = organization or rt.settings.tenancy.default_organization
        created = api_key_service(rt).create(slug, role=role, actor=CLI_ACTOR, name=label)
        return str(created.key)

    return run(config_file, create)


@cli.command("call")
@click.argument("tool")
@click.argument("arguments", nargs=-1)
@click.option("--url", default=None, help="MCP endpoint (default: this machine's gateway).")
@click.option("--api-key", envvar="OMNI_MCP_API_KEY", default=None, help="API key (or $OMNI_MCP_API_KEY).")
@click.option("--era", type=click.Choice(["2026-07-28", "legacy"]), default="2026-07-28", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@config_option
def call_command(
    tool: str,
    arguments: tuple[str, ...],
    url: str | None,
    api_key: str | None,
    era: str,
    as_json: bool,
    config_file: Path | None,
) -> None:
    """Call TOOL with KEY=VALUE arguments through the running gateway and print its result.

    A VALUE that parses as JSON is sent as such (2, true, [1,2], {"a":1}); anything else is a string;
    quote to force a string: 'id="42"'. Exits 1 when the tool reports an error.
    """
    settings = settings_or_exit(config_file)
    values = parse_arguments(arguments)
    endpoint = url or gateway_url(settings)
    result = anyio.run(_call, endpoint, api_key, era, tool, values)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
    else:
        click.echo(render_result(result))
    if result.is_error:
        sys.exit(1)


def parse_arguments(pairs: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, found, raw = pair.partition("=")
        if not found or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="ARGUMENTS")
        try:
            values[key] = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            values[key] = raw
    return values


async def _call(url: str, api_key: str | None, era: str, tool: str, arguments: dict[str, Any]) -> Any:
    import httpx2
    import mcp
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http:
            transport = streamable_http_client(url, http_client=http)
            async with mcp.Client(transport, mode=era, cache=None) as client:
                return await client.call_tool(tool, arguments)
    except MCPError as error:
        raise click.ClickException(error.message) from None
    except Exception as error:  # unreachable, refused, not an MCP endpoint: say so in one line
        reason = _first_reason(error)
        raise click.ClickException(f"cannot call {tool} at {url}: {reason}") from None


def _first_reason(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup) and error.exceptions:
        return _first_reason(error.exceptions[0])
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def render_result(result: Any) -> str:
    parts: list[str] = []
    for block in result.content:
        text = getattr(block, "text", None)
        parts.append(
            text if text is not None else json.dumps(block.model_dump(mode="json", exclude_none=True))
        )
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, indent=2))
    return "\n".join(parts)
