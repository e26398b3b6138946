"""Processes sharing one database must share their encryption keys: a process whose keys cannot read the
stored secrets refuses to start and says which setting to share; `keys generate` prints a key; a bad key
in the settings is named (never echoed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from omni_mcp.testing import free_port, fresh_database_url
from tests.test_cli import wait_for_health

try:
    import omni_mcp_linear  # noqa: F401  (a plugin with a secret setting: its API key)
except ImportError:
    pytest.skip("needs the Linear plugin: pip install -e plugins/linear", allow_module_level=True)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database_url() as url:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
        clean.update(OMNI_MCP_DATABASE__URL=url, OMNI_MCP_PLUGINS__ALLOW='["linear"]')
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


def test_a_process_with_its_own_key_file_refuses_to_start(env: dict[str, str], tmp_path: Path) -> None:
    first = {**env, "OMNI_MCP_SECURITY__KEY_FILE": str(tmp_path / "first.key")}
    stored = omni(first, "service", "set", "default", "linear", "api_key=lin_api_secret")
    assert stored.returncode == 0, stored.stderr

    second = {**env, "OMNI_MCP_SECURITY__KEY_FILE": str(tmp_path / "second.key")}
    refused = omni(second, "serve", "--port", str(free_port()))
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert "1 stored secret(s) cannot be decrypted with this process's encryption keys" in refused.stderr
    assert f"key file {tmp_path / 'second.key'}" in refused.stderr
    assert "default/linear.api_key" in refused.stderr
    assert "security.encryption_keys (env OMNI_MCP_SECURITY__ENCRYPTION_KEYS)" in refused.stderr
    assert "omni-mcp keys generate" in refused.stderr
    assert "lin_api_secret" not in refused.stderr

    # Sharing the first process's key is the fix.
    shared_key = (tmp_path / "first.key").read_text().strip()
    shared = {**second, "OMNI_MCP_SECURITY__ENCRYPTION_KEYS": json.dumps([shared_key])}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
        env=shared,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_keys_generate_prints_a_new_fernet_key(env: dict[str, str]) -> None:
    first, second = omni(env, "keys", "generate"), omni(env, "keys", "generate")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    Fernet(key.encode())  # a valid key
    assert key != second.stdout.strip()


@pytest.mark.parametrize("keys", [["not-a-key"], [Fernet.generate_key().decode(), "c2hvcnQ="]])
def test_a_malformed_encryption_key_is_named_and_not_echoed(env: dict[str, str], keys: list[str]) -> None:
    result = omni({**env, "OMNI_MCP_SECURITY__ENCRYPTION_KEYS": json.dumps(keys)}, "org", "list")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "setting 'security.encryption_keys' (env OMNI_MCP_SECURITY__ENCRYPTION_KEYS)" in result.stderr
    assert f"key {len(keys)} is not a Fernet key" in result.stderr
    assert "omni-mcp keys generate" in result.stderr
    assert all(key not in result.stderr for key in keys)


def test_a_malformed_key_in_the_config_file_is_named_too(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "omni.toml"
    config.write_text('[security]\nencryption_keys = ["hunter2"]\n')
    result = omni(env, "serve", "--config", str(config))
    assert result.returncode != 0
    assert "setting 'security.encryption_keys'" in result.stderr and "not a Fernet key" in result.stderr
    assert "hunter2" not in result.stderr
