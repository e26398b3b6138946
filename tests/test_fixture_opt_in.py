"""The conformance fixture, installed by the README's test command, is served only where asked for."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from omni_mcp.plugins import get_plugin_manager
from omni_mcp.settings import PluginSettings

try:
    importlib.metadata.distribution("omni-mcp-conformance-fixture")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("needs the fixture plugin: pip install -e tests/conformance_plugin", allow_module_level=True)


def test_the_fixture_loads_only_when_plugins_allow_names_it() -> None:
    assert "conformance" not in get_plugin_manager(PluginSettings()).info
    assert "conformance" not in get_plugin_manager(PluginSettings(allow=["linear"])).info
    assert (
        get_plugin_manager(PluginSettings(allow=["conformance"])).info["conformance"].source == "entry point"
    )
    blocked = get_plugin_manager(PluginSettings(allow=["conformance"], block=["conformance"]))
    assert "conformance" not in blocked.info


def test_a_plain_install_lists_no_fixture_tools() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    result = subprocess.run(
        [sys.executable, "-m", "omni_mcp", "tools", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert not [
        row["name"] for row in rows if row["name"].startswith("test_") or row["plugin"] == "conformance"
    ]
