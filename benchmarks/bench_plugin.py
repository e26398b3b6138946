"""The gateway side: an omni-mcp plugin with one echo tool, and the app factory the benchmark serves.

The tool is exposed as ``bench_echo`` (namespace ``bench``), called through the whole gateway: the
middleware stack, the SDK session manager, the router with pydantic argument validation, the tool
timeout and the call context. The database is a fresh SQLite file named by $OMNI_MCP_BENCH_DATABASE_URL.

Settings are the test defaults, except: logging at WARNING, `server.freeze_gc` on as in `omni-mcp serve`,
and rate limits raised so high that they never refuse the load generator (they are still checked on
every request, so their cost is measured).
$OMNI_MCP_BENCH_GATEWAY_SETTINGS may hold JSON merged over that, section by section, e.g.
``{"rate_limit": {"enabled": false}}`` to see what a feature costs.

Run by the benchmark as ``uvicorn bench_plugin:create_app --factory --app-dir benchmarks``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import gc_tools
from starlette.applications import Starlette

import omni_mcp
from omni_mcp.observability.logging import configure_logging
from omni_mcp.testing import make_test_settings

DATABASE_URL_ENV = "OMNI_MCP_BENCH_DATABASE_URL"
SETTINGS_ENV = "OMNI_MCP_BENCH_GATEWAY_SETTINGS"
UNLIMITED = 10**9
BENCH_SETTINGS: dict[str, dict[str, Any]] = {
    "logging": {"level": "WARNING"},
    # As `omni-mcp serve` runs (the test settings turn it off): start-up's objects frozen out of the GC.
    "server": {"freeze_gc": True},
    "rate_limit": {
        "per_caller_per_minute": UNLIMITED,
        "caller_burst": UNLIMITED,
        "per_organization_per_minute": UNLIMITED,
        "organization_burst": UNLIMITED,
    },
}

tools = omni_mcp.ToolGroup("bench", description="Benchmark tools.")


@tools.tool
async def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


class BenchPlugin:
    @omni_mcp.hookimpl
    def register_tools(self) -> omni_mcp.ToolGroup:
        return tools


def create_app() -> Starlette:
    """ASGI factory (uvicorn --factory): the real gateway, logging at WARNING so logs are not measured."""
    database_url = os.environ.get(DATABASE_URL_ENV)
    if not database_url:
        raise RuntimeError(f"set {DATABASE_URL_ENV} to a fresh database, e.g. sqlite:////tmp/x/bench.db")
    sections = {name: dict(values) for name, values in BENCH_SETTINGS.items()}
    # Only sections this version of omni-mcp has (the settings model forbids unknown ones).
    sections = {name: values for name, values in sections.items() if name in omni_mcp.Settings.model_fields}
    for name, values in json.loads(os.environ.get(SETTINGS_ENV) or "{}").items():
        sections.setdefault(name, {}).update(values)
    settings = make_test_settings(database_url, **sections)
    configure_logging(settings.logging)
    app = omni_mcp.create_app(settings, extra_plugins=[("bench", BenchPlugin())])
    return gc_tools.instrument(app)  # GC statistics (and optionally gc.freeze) when the benchmark asks
