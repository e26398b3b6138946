"""What every command module shares: the root `cli` group, common options, output and a configured runtime.

This module imports none of the command modules (cli, cli_auth, cli_config, ...), so any of them can be
imported first: each imports from here and registers its commands on `cli`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import click

from omni_mcp.__about__ import __version__
from omni_mcp.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # imported when a command runs: `omni-mcp --help` should not load the database layer
    from omni_mcp.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
CLI_ACTOR = "cli"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="omni-mcp")
def cli() -> None:
    """omni-mcp: many MCP servers behind one gateway, for many organizations."""


def config_option(fn: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML settings file (default: $OMNI_MCP_CONFIG).",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(fn)


def settings_or_exit(config_file: Path | None, **overrides: dict[str, Any]) -> Settings:
    try:
        return load_settings(config_file, **overrides)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def emit(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo("\n".join(lines) if lines else "(none)")


@contextmanager
def configuration(config_file: Path | None) -> Iterator[Runtime]:
    """A runtime with plugins collected and the database ready, for one command; errors become one line."""
    from omni_mcp.app import prepare_database
    from omni_mcp.db.engine import create_db_engine
    from omni_mcp.errors import StartupError
    from omni_mcp.plugins import get_plugin_manager
    from omni_mcp.runtime import Runtime
    from omni_mcp.tenancy.service import ConfigError

    settings = settings_or_exit(config_file)
    try:
        engine = create_db_engine(settings.database)
        runtime = Runtime(settings, get_plugin_manager(settings.plugins), engine)
    except StartupError as error:  # e.g. a data folder that cannot hold the database
        raise click.ClickException(str(error)) from None
    try:
        prepare_database(runtime)
        anyio.run(runtime.prepare)
        runtime.sync_defaults()
        # The default organization exists from the first command on, not only once `serve` ran.
        runtime.tenancy.ensure_organization(settings.tenancy.default_organization, actor="system")
        yield runtime
    except (ConfigError, StartupError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        runtime.engine.dispose()


def run(config_file: Path | None, change: Callable[[Runtime], T]) -> T:
    with configuration(config_file) as runtime:
        return change(runtime)
