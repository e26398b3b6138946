"""Two real `omni-mcp serve` processes on one database: a change is served by both within a second."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import mcp
import pytest
import redis
from cryptography.fernet import Fernet

from omni_mcp.testing import TEST_DATABASE_ENV, free_port, fresh_database_url
from tests.redis_for_tests import redis_url_for_tests
from tests.test_cli import wait_for_health

pytestmark = pytest.mark.anyio

REDIS_URL = str(redis_url_for_tests())
PROPAGATION_LIMIT_SECONDS = 1.0


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    env.update(
        OMNI_MCP_DATABASE__URL=database_url,
        OMNI_MCP_PLUGINS__ALLOW="[]",
        OMNI_MCP_LOGGING__LEVEL="WARNING",
        OMNI_MCP_SECURITY__ENCRYPTION_KEYS=f'["{Fernet.generate_key().decode()}"]',
        OMNI_MCP_CACHE__TTL_SECONDS="300",  # far longer than the test: only invalidation can explain success
        **extra,
    )
    return env


def start_servers(env: dict[str, str], count: int = 2) -> list[tuple[str, subprocess.Popen[str]]]:
    servers = []
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        servers.append((f"http://127.0.0.1:{port}", process))
    for base, process in servers:
        wait_for_health(base, process)
    return servers


def stop(servers: list[tuple[str, subprocess.Popen[str]]]) -> None:
    for _base, process in servers:
        process.terminate()
    for _base, process in servers:
        process.communicate(timeout=30)  # also closes the output pipe


async def prompt_names(base: str) -> set[str]:
    async with mcp.Client(base + "/mcp", mode="2026-07-28", cache=None) as client:
        return {p.name for p in (await client.list_prompts()).prompts}


async def assert_change_propagates(env: dict[str, str], tmp_path: Path) -> None:
    servers = start_servers(env)
    try:
        for base, _process in servers:  # warm both caches with the current configuration
            assert "fresh" not in await prompt_names(base)
        spec = tmp_path / "fresh.toml"
        spec.write_text('template = "new prompt"\n')
        change = subprocess.run(
            [sys.executable, "-m", "omni_mcp", "prompt", "set", "default", "fresh", "--file", str(spec)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert change.returncode == 0, change.stderr
        changed_at = time.monotonic()
        for base, _process in servers:
            while "fresh" not in await prompt_names(base):
                assert time.monotonic() - changed_at < PROPAGATION_LIMIT_SECONDS, (
                    f"{base} still serves old prompts"
                )
                time.sleep(0.02)
    finally:
        stop(servers)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not os.environ.get(TEST_DATABASE_ENV, "").startswith("postgresql"):
        pytest.skip(f"needs PostgreSQL: set {TEST_DATABASE_ENV} (CI does)")
    with fresh_database_url() as url:
        yield url


async def test_postgres_notify_reaches_every_process(postgres_url: str, tmp_path: Path) -> None:
    await assert_change_propagates(base_env(postgres_url), tmp_path)


async def test_redis_pubsub_reaches_every_process(tmp_path: Path) -> None:
    if not redis_available():
        pytest.skip(f"needs Redis at {REDIS_URL} (set OMNI_MCP_TEST_REDIS_URL; CI runs one)")
    # SQLite: no NOTIFY, so Redis alone carries the change.
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    await assert_change_propagates(base_env(database, OMNI_MCP_REDIS__URL=REDIS_URL), tmp_path)
