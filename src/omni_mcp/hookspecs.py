"""Every hook a plugin can implement. A hook is named for what the plugin contributes.

Implementations may be plain functions or coroutines, and may accept any subset of the arguments.
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
    """Return the plugin's tool group(s)."""


@hookspec
def register_prompts() -> Iterable[Prompt] | None:
    """Return the plugin's default prompts (organizations may override them)."""


@hookspec
def register_resources() -> Iterable[Resource | ResourceTemplate] | None:
    """Return the plugin's default resources and resource templates."""


@hookspec
def register_settings() -> type[BaseModel] | None:
    """Return the pydantic model of the plugin's per-organization settings."""


@hookspec
def register_routes(runtime: Runtime) -> Iterable[BaseRoute] | None:
    """Return extra Starlette routes to mount in the application."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the omni-mcp command line."""


@hookspec
def startup(runtime: Runtime) -> Any:
    """Prepare the plugin when the server starts; raising marks the plugin unhealthy."""


@hookspec
def shutdown(runtime: Runtime) -> Any:
    """Release what startup acquired when the server stops."""


@hookspec
def actor_from_request(request: Request, runtime: Runtime) -> Actor | None:
    """Resolve the caller of an HTTP request to an Actor, or None to let the next plugin decide."""


@hookspec
def permission_allowed(actor: Actor, permission: str, target: str | None) -> bool | None:
    """Allow (True) or deny (False) `actor` a permission, optionally on a target; None defers to others."""


@hookspec
def health_check(runtime: Runtime) -> Health | bool | str | None:
    """Report the plugin's health for /health: True/None healthy, False or a string or Health otherwise."""
