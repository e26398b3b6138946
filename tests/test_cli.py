"""The omni-mcp command as a user runs it: a real subprocess, real entry points, a real server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mcp
import pytest
from sqlalchemy import create_engine, inspect

from omni_mcp.__about__ import __version__
from omni_mcp.db import migrate
from omni_mcp.testing import free_port, fresh_database_url
from tests.test_plugin_discovery import GOOD_PLUGIN, install_fake_distribution


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """A clean environment: our database, a site folder with a real third-party plugin distribution."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "omni_cli_plugin.py").write_text(GOOD_PLUGIN.format(namespace="cli"))
    (site / "omni_cli_clash.py").write_text(GOOD_PLUGIN.format(namespace="cli"))
    install_fake_distribution(site, "omni-cli-plugin", "2.0.0", {"cliplugin": "omni_cli_plugin"})
    install_fake_distribution(site, "omni-cli-clash", "0.1.0", {"clash": "omni_cli_clash"})
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    clean.update(
        PYTHONPATH=str(site),
        OMNI_MCP_DATABASE__URL=database_url,
        OMNI_MCP_PLUGINS__ALLOW='["cliplugin"]',
        OMNI_MCP_LOGGING__LEVEL="INFO",
    )
    return clean


def omni(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version(env: dict[str, str]) -> None:
    result = omni(env, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"omni-mcp, version {__version__}"


def test_plugins_list_json_shows_third_party_plugins_with_versions(env: dict[str, str]) -> None:
    result = omni(env, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["cliplugin"]["version"] == "2.0.0"
    assert rows["cliplugin"]["distribution"] == "omni-cli-plugin"
    assert rows["cliplugin"]["error"] is None
    assert rows["omni_mcp.default_plugins.database"]["source"] == "core"


def test_tools_list_text_and_json(env: dict[str, str]) -> None:
    as_json = omni(env, "tools", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {"name": "cli_hello", "plugin": "cliplugin", "description": "Say hello."}
    ]
    as_text = omni(env, "tools", "list")
    assert as_text.stdout.split() == ["cli_hello", "cliplugin", "Say", "hello."]


def test_tools_list_reports_a_clash(env: dict[str, str]) -> None:
    env = {**env, "OMNI_MCP_PLUGINS__ALLOW": '["cliplugin", "clash"]'}
    result = omni(env, "tools", "list")
    assert result.returncode == 1
    assert "tool 'cli_hello' is registered by both plugin 'clash' and plugin 'cliplugin'" in result.stderr


def test_bad_setting_exits_with_the_key_named(env: dict[str, str]) -> None:
    result = omni({**env, "OMNI_MCP_SERVER__PORT": "lots"}, "serve")
    assert result.returncode != 0
    assert "setting 'server.port' (env OMNI_MCP_SERVER__PORT)" in result.stderr


def test_db_upgrade_and_downgrade(env: dict[str, str], database_url: str) -> None:
    up = omni(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    assert f"is at revision {migrate.head_revision(engine)}" in up.stdout
    assert "plugin default prompts and resources are in sync" in up.stdout
    assert "mcp_servers" in inspect(engine).get_table_names()
    down = omni(env, "db", "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert "mcp_servers" not in inspect(engine).get_table_names()
    engine.dispose()


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_health(base: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("serve did not become healthy in time")


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_serve_serves_third_party_tools_in_both_eras_and_stops_cleanly(
    server: tuple[str, subprocess.Popen[str]], era: str
) -> None:
    base, process = server
    health = httpx.get(base + "/health").json()
    assert health["status"] == "healthy"
    assert health["plugins"]["cliplugin"]["version"] == "2.0.0"
    async with mcp.Client(base + "/mcp", mode=era) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["cli_hello"]
        result = await client.call_tool("cli_hello", {"name": "world"})
    assert result.content[0].text == "hello world"  # type: ignore[union-attr]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells how it ended.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def test_json_logs_carry_the_request_id(env: dict[str, str]) -> None:
    port = free_port()
    env = {**env, "OMNI_MCP_LOGGING__JSON": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        httpx.get(base + "/health", headers={"x-request-id": "json-log-check"})
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    records = [json.loads(line)["record"] for line in output.splitlines() if line.startswith("{")]
    assert records, output
    assert len(records) == len(output.splitlines())  # every line is JSON
    ours = [r for r in records if r["extra"].get("request_id") == "json-log-check"]
    assert len(ours) == 1
    assert re.fullmatch(r"GET /health 200 \d+\.\dms", ours[0]["message"])
    assert any("database:" in r["message"] for r in records)


def test_serve_refuses_to_start_on_a_clash_naming_both_plugins(env: dict[str, str]) -> None:
    env = {**env, "OMNI_MCP_PLUGINS__ALLOW": '["cliplugin", "clash"]'}
    result = omni(env, "serve", "--port", str(free_port()))
    assert result.returncode != 0
    assert (
        "cannot start: tool 'cli_hello' is registered by both plugin 'clash' and plugin 'cliplugin'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_outdated_schema_and_says_what_to_run(
    env: dict[str, str], database_url: str
) -> None:
    assert omni(env, "db", "upgrade").returncode == 0
    assert omni(env, "db", "downgrade", "base").returncode == 0
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:  # a database that is not empty, but has no schema of ours
        connection.exec_driver_sql("CREATE TABLE someone_elses (id INTEGER)")
    engine.dispose()
    result = omni(env, "serve", "--port", str(free_port()))
    assert result.returncode != 0
    assert "run `omni-mcp db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr
