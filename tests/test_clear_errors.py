"""Mistakes of a first hour get one line saying what to do, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from omni_mcp.settings import SettingsError, load_settings
from omni_mcp.testing import fresh_database_url


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    with fresh_database_url() as url:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
        clean.update(OMNI_MCP_DATABASE__URL=url, OMNI_MCP_PLUGINS__ALLOW="[]")
        yield clean


def omni(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_port_in_use_suggests_another(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = omni(env, "serve", "--port", str(port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "choose another with --port" in result.stderr


@pytest.mark.parametrize("kind", ["prompt", "resource"])
def test_listing_an_unknown_organization_says_how_to_create_it(env: dict[str, str], kind: str) -> None:
    result = omni(env, kind, "list", "ghost")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no organization 'ghost' (create it with `omni-mcp org create ghost`)" in result.stderr


def test_a_mistyped_key_in_the_config_file_gets_did_you_mean(tmp_path: Path) -> None:
    config = tmp_path / "omni.toml"
    config.write_text('[server]\nprot = 8080\n\n[databse]\nurl = "sqlite://"\n')
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    message = str(error.value)
    assert "setting 'server.prot' (env OMNI_MCP_SERVER__PROT): Extra inputs are not permitted" in message
    assert "(did you mean 'server.port'?)" in message
    assert "(did you mean 'database'?)" in message


def test_a_mistyped_environment_variable_gets_did_you_mean(env: dict[str, str]) -> None:
    result = omni({**env, "OMNI_MCP_GATEWAY__TOOL_TIMEOUTS": "5"}, "org", "list")
    assert result.returncode == 1
    assert "setting 'gateway.tool_timeouts' (env OMNI_MCP_GATEWAY__TOOL_TIMEOUTS)" in result.stderr
    assert "(did you mean 'gateway.tool_timeout'?)" in result.stderr


def test_no_guess_when_nothing_is_close(tmp_path: Path) -> None:
    config = tmp_path / "omni.toml"
    config.write_text("[server]\nzzzz = 1\n")
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert "setting 'server.zzzz'" in str(error.value) and "did you mean" not in str(error.value)


def test_a_mistyped_section_in_an_environment_variable_is_not_ignored(env: dict[str, str]) -> None:
    result = omni({**env, "OMNI_MCP_SERVR__PORT": "8080"}, "org", "list")
    assert result.returncode == 1
    assert "environment variable OMNI_MCP_SERVR__PORT names no settings section 'servr'" in result.stderr
    assert "(did you mean OMNI_MCP_SERVER__...?)" in result.stderr
