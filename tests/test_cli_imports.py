"""Every command-line module can be imported first, in a fresh interpreter (no circular imports)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import omni_mcp
import omni_mcp.federation

CLI_MODULES = sorted(
    [f"omni_mcp.{m.name}" for m in pkgutil.iter_modules(omni_mcp.__path__) if m.name.startswith("cli")]
    + ["omni_mcp.federation.cli"]
)


def test_the_cli_modules_are_found() -> None:
    assert {"omni_mcp.cli", "omni_mcp.cli_config", "omni_mcp.cli_common"} <= set(CLI_MODULES)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_each_cli_module_imports_first(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_full_command_line_has_every_command_whichever_module_came_first() -> None:
    script = "import omni_mcp.cli_config, omni_mcp.cli; print(' '.join(sorted(omni_mcp.cli.cli.commands)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {"serve", "org", "member", "service", "upstream", "call"} <= set(done.stdout.split())
