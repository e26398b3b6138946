"""The omni-mcp command line: serve, db, plugins, tools; plugins may add their own commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import click
from loguru import logger

from omni_mcp.__about__ import __version__
from omni_mcp.cli_common import cli, config_option, emit, json_option, settings_or_exit
from omni_mcp.settings import SettingsError, load_settings


@cli.command()
@config_option
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 37373).")
@click.option(
    "--local",
    is_flag=True,
    default=None,
    help="Local mode: callers without credentials act as the local owner (loopback hosts only).",
)
def serve(config_file: Path | None, host: str | None, port: int | None, local: bool | None) -> None:
    """Serve the gateway over streamable HTTP."""
    import uvicorn

    from omni_mcp.app import create_app
    from omni_mcp.errors import StartupError
    from omni_mcp.observability.logging import configure_logging
    from omni_mcp.ports import check_port_free

    settings = settings_or_exit(config_file, server={"host": host, "port": port}, auth={"local_mode": local})
    configure_logging(settings.logging)
    try:
        app = create_app(settings)  # its own refusals (e.g. local mode off loopback) come first
        check_port_free(settings.server.host, settings.server.port)
    except StartupError as error:
        raise click.ClickException(str(error)) from None
    server = settings.server
    display_host = f"[{server.host}]" if ":" in server.host else server.host
    logger.info(
        "omni-mcp {} on http://{}:{}{}", __version__, display_host, server.port, settings.gateway.path
    )
    if not settings.binds_loopback:
        logger.warning("bound to {}: reachable from other machines", server.host)
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        log_config=None,
        access_log=False,  # RequestIdMiddleware logs each request, with its id
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


@cli.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True)
def db_upgrade(config_file: Path | None, revision: str) -> None:
    """Migrate the database to the newest schema (or --revision), then sync the plugins' defaults."""
    from omni_mcp.db import migrate
    from omni_mcp.db.engine import create_db_engine, describe_url
    from omni_mcp.gateway.capabilities import CapabilityClash
    from omni_mcp.plugins import get_plugin_manager
    from omni_mcp.runtime import Runtime

    settings = settings_or_exit(config_file)
    engine = create_db_engine(settings.database)
    with migrate.migration_lock(engine):
        migrate.upgrade(engine, revision)
    current = migrate.current_revision(engine)
    click.echo(f"database {describe_url(engine)} is at revision {current}")
    if current == migrate.head_revision(engine):
        runtime = Runtime(settings, get_plugin_manager(settings.plugins), engine)
        try:
            anyio.run(runtime.prepare)
        except CapabilityClash as error:
            raise click.ClickException(str(error)) from None
        runtime.sync_defaults()
        click.echo("plugin default prompts and resources are in sync")
    engine.dispose()


@db.command("downgrade")
@config_option
@click.argument("revision")
def db_downgrade(config_file: Path | None, revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    from omni_mcp.db import migrate
    from omni_mcp.db.engine import create_db_engine, describe_url

    settings = settings_or_exit(config_file)
    engine = create_db_engine(settings.database)
    try:
        migrate.downgrade(engine, revision)
        click.echo(
            f"database {describe_url(engine)} is at revision {migrate.current_revision(engine) or 'base'}"
        )
    finally:
        engine.dispose()


@cli.group()
def plugins() -> None:
    """Installed plugins."""


@plugins.command("list")
@config_option
@json_option
def plugins_list(config_file: Path | None, as_json: bool) -> None:
    """List plugins with their version, origin and any load error."""
    from omni_mcp.plugins import get_plugin_manager

    host = get_plugin_manager(settings_or_exit(config_file).plugins)
    rows = [
        {
            "name": info.name,
            "version": info.version,
            "source": info.source,
            "distribution": info.distribution,
            "error": host.load_errors.get(info.name),
        }
        for info in host.info.values()
    ]
    lines = [
        f"{r['name']:<40} {r['version']:<12} {r['source']}" + (f"  ERROR: {r['error']}" if r["error"] else "")
        for r in rows
    ]
    emit(rows, as_json, lines)


@cli.group()
def tools() -> None:
    """Tools the gateway serves."""


@tools.command("list")
@config_option
@json_option
@click.option("--org", "organization", default=None, help="The tools this organization's callers see.")
def tools_list(config_file: Path | None, as_json: bool, organization: str | None) -> None:
    """List every tool with the plugin behind it (or, with --org, the organization's effective tools)."""
    from omni_mcp.gateway.capabilities import CapabilityClash, collect_capabilities
    from omni_mcp.plugins import get_plugin_manager

    if organization is not None:
        from omni_mcp.cli_manage import organization_tools

        rows = organization_tools(config_file, organization)
        emit(rows, as_json, [f"{r['name']:<48} {r['plugin']:<20} {r['permission'] or ''}" for r in rows])
        return
    host = get_plugin_manager(settings_or_exit(config_file).plugins)
    try:
        collected = anyio.run(collect_capabilities, host)
    except CapabilityClash as error:
        raise click.ClickException(str(error)) from None
    rows = [
        {"name": name, "plugin": owned.plugin, "description": owned.item.description}
        for name, owned in sorted(collected.capabilities.tools.items())
    ]
    lines = [
        f"{r['name']:<48} {r['plugin']:<20} {r['description'].splitlines()[0] if r['description'] else ''}"
        for r in rows
    ]
    for plugin, reason in collected.failed.items():
        lines.append(f"(plugin {plugin} withheld: {reason})")
    emit(rows, as_json, lines)


def build_cli() -> click.Group:
    """The command line with plugin commands added (plugins chosen by the environment's settings)."""
    from omni_mcp.observability.logging import configure_logging
    from omni_mcp.plugins import get_plugin_manager

    try:
        settings = load_settings()
    except SettingsError:
        return cli  # the command itself will report the bad settings
    configure_logging(settings.logging)
    host = get_plugin_manager(settings.plugins)
    for name, error in _each_hook_error(host, cli):
        click.echo(f"warning: plugin {name} could not add its commands: {error}", err=True)
    return cli


def _each_hook_error(host: Any, group: click.Group) -> list[tuple[str, str]]:
    errors = []
    for impl in host.implementations("register_commands"):
        try:
            impl.function(cli=group)
        except Exception as error:  # one plugin's broken command must not break the CLI
            errors.append((impl.plugin_name, f"{type(error).__name__}: {error}"))
    return errors


# The other command modules register on `cli` when imported; they import only cli_common, never this.
from omni_mcp import cli_auth, cli_config, cli_manage  # noqa: E402, F401
from omni_mcp import cli_client as _client_commands  # noqa: E402, F401  (client-config, call)
from omni_mcp.federation import cli as _upstream_commands  # noqa: E402, F401  (upstream ...)


def main() -> None:
    from omni_mcp.errors import StartupError

    try:
        build_cli()(prog_name="omni-mcp")
    except KeyboardInterrupt:
        sys.exit(130)
    except StartupError as error:  # any command: the message says what to do, a traceback would not
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
