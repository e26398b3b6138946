"""The embedded default (SQLite, no Redis) keeps the README's promise: a CLI change in another process
reaches a running `omni-mcp serve` within a second, connected clients are told, and a revoked key stops
working, all far sooner than the cache would expire on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp
import mcp.types as types
import pytest

from tests.test_multiprocess import (
    PROPAGATION_LIMIT_SECONDS,
    assert_change_propagates,
    base_env,
    start_servers,
    stop,
)

pytestmark = pytest.mark.anyio


def omni(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    # A long API-key cache too: only the change watcher can explain a refusal within a second.
    return base_env(f"sqlite:///{tmp_path / 'omni.db'}", OMNI_MCP_AUTH__API_KEY_CACHE_SECONDS="300")


async def test_a_cli_change_reaches_every_sqlite_server_within_a_second(tmp_path: Path) -> None:
    await assert_change_propagates(sqlite_env(tmp_path), tmp_path)


async def test_clients_are_told_and_a_revoked_key_is_refused_within_a_second(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    created = json.loads(omni(env, "apikey", "create", "default", "--role", "member", "--json").stdout)
    [(base, _process)] = servers = start_servers(env, count=1)
    received: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification | types.Notification):
            received.append(getattr(message, "method", ""))

    try:
        async with httpx.AsyncClient(base_url=base) as http:
            key_headers = {"x-api-key": created["key"]}

            async def key_status() -> int:
                return (await http.get("/mcp", headers=key_headers)).status_code

            assert await key_status() != 401  # the key works, and the server has it cached now
            async with mcp.Client(base + "/mcp", mode="legacy", message_handler=on_message) as client:
                assert "fresh" not in {p.name for p in (await client.list_prompts()).prompts}
                spec = tmp_path / "fresh.toml"
                spec.write_text('template = "new prompt"\n')
                omni(env, "prompt", "set", "default", "fresh", "--file", str(spec))
                changed_at = time.monotonic()
                while "notifications/prompts/list_changed" not in received:
                    assert time.monotonic() - changed_at < PROPAGATION_LIMIT_SECONDS, received
                    await anyio.sleep(0.02)
                assert "fresh" in {p.name for p in (await client.list_prompts()).prompts}

            omni(env, "apikey", "revoke", str(created["id"]))
            revoked_at = time.monotonic()
            while await key_status() != 401:
                assert time.monotonic() - revoked_at < PROPAGATION_LIMIT_SECONDS, (
                    "the revoked key still works"
                )
                await anyio.sleep(0.02)
    finally:
        stop(servers)


async def test_deleting_an_organization_ends_its_keys_on_a_running_server(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    omni(env, "org", "create", "acme")
    created = json.loads(omni(env, "apikey", "create", "acme", "--role", "member", "--json").stdout)
    servers = start_servers(env, count=1)
    try:
        async with httpx.AsyncClient(base_url=servers[0][0]) as http:

            async def key_status() -> int:
                return (await http.get("/mcp", headers={"x-api-key": created["key"]})).status_code

            assert await key_status() != 401
            omni(env, "org", "delete", "acme", "--yes")
            deleted_at = time.monotonic()
            while await key_status() != 401:
                assert time.monotonic() - deleted_at < PROPAGATION_LIMIT_SECONDS, "a deleted org's key works"
                await anyio.sleep(0.02)
    finally:
        stop(servers)
