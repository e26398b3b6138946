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
async def health_check(runtime: Runtime) -> Health:
    found = browsers_if_any()
    if found is None or found.launches == 0:
        return Health("healthy", "browser starts on first use")
    state = found.state()
    counts = f"{state['contexts']} context(s), {state['pages']} page(s), {state['launches']} launch(es)"
    if not found.running:
        # The next call relaunches it, so the plugin still serves: degraded, not unhealthy.
        return Health(
            "degraded", f"browser stopped ({found.last_error}); the next call relaunches it; {counts}"
        )
    return Health("healthy", f"Chromium {state['version']} running; {counts}", state)
