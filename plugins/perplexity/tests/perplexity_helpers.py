"""Helpers shared by the test modules (a uniquely named module: every plugin's tests have a conftest)."""

from __future__ import annotations

from typing import Any

import mcp.types as types
from fake_perplexity import VALID_KEY

from omni_mcp import Settings
from omni_mcp.testing import make_test_settings

ERAS = ["legacy", "2026-07-28"]
GATEWAY_TOOL_TIMEOUT = 3.0


def gateway_settings(database_url: str, *, base_url: str, **sections: dict[str, Any]) -> Settings:
    """Test settings with a short tool_timeout (make_test_settings already leaves rate limits off), the
    plugin pointed at `base_url` by the operator (organizations cannot change it)."""
    sections.setdefault("gateway", {"tool_timeout": GATEWAY_TOOL_TIMEOUT})
    sections.setdefault("plugins", {})["settings"] = {"perplexity": {"base_url": base_url}}
    return make_test_settings(database_url, **sections)


def standard_settings() -> dict[str, Any]:
    """Every setting an organization has, so each test starts from the same state whatever the previous
    one changed (base_url is the operator's: see gateway_settings)."""
    return {
        "api_key": VALID_KEY,
        "default_model": "sonar-pro",
        "timeout": 2.0,
        "research_timeout": 30.0,
        "max_retries": 2,
        "retry_backoff": 0.01,
        "max_retry_wait": 0.05,
    }


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


def user(content: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": content}]
