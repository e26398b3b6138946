"""Every hook a plugin can implement. A hook is named for what the plugin contributes.

Implementations may be plain functions or coroutines, and may accept any subset of the arguments.
They are called in pluggy's order (`tryfirst`, then the most recently registered, then `trylast`),
and each docstring says how the answers combine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click
import pluggy
from pydantic import BaseModel
from starlette.requests import Request
from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from omni_mcp.capabilities.prompts import Prompt
    from omni_mcp.capabilities.resources import Resource, ResourceTemplate
    from omni_mcp.capabilities.tools import ToolGroup
    from omni_mcp.context import Actor
    from omni_mcp.health import Health
    from omni_mcp.runtime import Runtime

PROJECT_NAME = "omni_mcp"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_tools() -> ToolGroup | Iterable[ToolGroup] | None:
    """Return the plugin's tool group(s); every plugin's are collected, a name clash stops start-up."""


@hookspec
def register_prompts() -> Iterable[Prompt] | None:
    """Return default prompts (organizations may override them); all collected, a clash stops start-up."""


@hookspec
def register_resources() -> Iterable[Resource | ResourceTemplate] | None:
    """Return default resources and resource templates; all collected, a clash stops start-up."""


@hookspec
def register_settings() -> type[BaseModel] | None:
    """Return the pydantic model of the plugin's per-organization settings (one per plugin)."""


@hookspec
def register_routes(runtime: Runtime) -> Iterable[BaseRoute] | None:
    """Return extra Starlette routes; all are mounted, in pluggy's order (first match wins)."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the omni-mcp command line; every plugin is called."""


@hookspec
def startup(runtime: Runtime) -> Any:
    """Prepare the plugin at start-up, in pluggy's order; raising marks only this plugin unhealthy."""


@hookspec
def shutdown(runtime: Runtime) -> Any:
    """Release what startup acquired, in the reverse of startup's order; every plugin is called."""


@hookspec
def actor_from_request(request: Request, runtime: Runtime) -> Actor | None:
    """Resolve the caller to an Actor; the first answer that is not None (in pluggy's order) decides."""


@hookspec
def permission_allowed(actor: Actor, permission: str, target: str | None) -> bool | None:
    """Allow (True) or deny (False) a permission; the first non-None answer decides, none means deny."""


@hookspec
def health_check(runtime: Runtime) -> Health | bool | str | None:
    """Report this plugin's health for /health: True/None healthy; False, a string or Health otherwise."""
