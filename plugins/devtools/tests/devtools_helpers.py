"""Helpers shared by the devtools test modules."""

from __future__ import annotations

import re
from typing import Any

import mcp
import mcp.types as types
from site_server import LocalSite

from omni_mcp import Settings
from omni_mcp.testing import make_test_settings

ERAS = ["legacy", "2026-07-28"]


def operator_settings(site: LocalSite, **extra: Any) -> dict[str, Any]:
    """The operator lets the browser reach the local test site (as a deployment would an intranet)."""
    return {"operator_allowed_urls": [site.url + "/*"], "action_timeout": 5.0, **extra}


def gateway_settings(database_url: str, site: LocalSite, **extra: Any) -> Settings:
    return make_test_settings(
        database_url,
        gateway={"tool_timeout": 30.0},
        plugins={"settings": {"devtools": operator_settings(site, **extra)}},
    )


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def call(client: mcp.Client, tool: str, **arguments: Any) -> types.CallToolResult:
    """Call a tool that must succeed."""
    result = await client.call_tool(f"devtools_{tool}", arguments)
    assert not result.is_error, f"devtools_{tool}: {text_of(result)}"
    return result


async def fails(client: mcp.Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail; its error text."""
    result = await client.call_tool(f"devtools_{tool}", arguments)
    assert result.is_error, f"devtools_{tool} should have failed: {text_of(result)}"
    return text_of(result)


def uid_of(snapshot: str, pattern: str) -> str:
    """The uid of the first snapshot line matching `pattern` (a regular expression)."""
    for line in snapshot.splitlines():
        if re.search(pattern, line):
            found = re.search(r"\[uid=([0-9.]+(?:f\d+)?e\d+)\]", line)
            if found:
                return found.group(1)
    raise AssertionError(f"nothing matches {pattern!r} in:\n{snapshot}")
