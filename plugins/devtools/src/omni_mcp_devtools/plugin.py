"""The DevTools plugin's hooks: what it contributes to omni-mcp."""

from __future__ import annotations

from omni_mcp import Health, Prompt, Resource, ResourceTemplate, Runtime, ToolGroup, hookimpl
from omni_mcp_devtools.browser import browsers, browsers_if_any
from omni_mcp_devtools.prompts import PROMPTS
from omni_mcp_devtools.resources import RESOURCES
from omni_mcp_devtools.settings import DevToolsSettings
from omni_mcp_devtools.tools import devtools


@hookimpl
def register_tools() -> ToolGroup:
    return devtools


@hookimpl
def register_prompts() -> list[Prompt]:
    return list(PROMPTS)


@hookimpl
def register_resources() -> list[Resource | ResourceTemplate]:
    return list(RESOURCES)


@hookimpl
def register_settings() -> type[DevToolsSettings]:
    return DevToolsSettings


@hookimpl
async def startup(runtime: Runtime) -> None:
    browsers()  # bind this server's event loop; the browser itself starts on first use


@hookimpl
async def shutdown(runtime: Runtime) -> None:
    found = browsers_if_any()
    if found is not None:
        await found.close()


@hookimpl
async def health_check(runtime: Runtime) -> Health | None:
    found = browsers_if_any()
    state = found.state() if found is not None else {"running": False, "launches": 0}
    if found is not None and found.last_error and not found.running:
        # The next call relaunches it, so the plugin still serves: degraded, not unhealthy.
        return Health("degraded", f"browser: {found.last_error}; the next call relaunches it", state)
    running = f"Chromium {state.get('version')} running" if state["running"] else "starts on first use"
    return Health("healthy", f"browser {running}", state)
