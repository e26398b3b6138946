"""Memory stays flat under session churn: thousands of handshake-era sessions and GET streams opened and
closed against a real `omni-mcp serve` process, whose resident memory must come back near its start.

Raw HTTP (not the SDK client) keeps the churn cheap. OMNI_MCP_TEST_CHURN_SESSIONS sets how many
sessions (default 5,000, as issue 10 asks).
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx
import pytest

from omni_mcp.testing import fresh_database_url
from tests.test_multiprocess import base_env, start_servers, stop
from tests.test_sessions import HANDSHAKE_VERSION, INITIALIZE, INITIALIZED, POST_HEADERS

SESSIONS = int(os.environ.get("OMNI_MCP_TEST_CHURN_SESSIONS", "5000"))
STREAMS = 200
WARM_UP_SESSIONS = 500
RSS_GROWTH_LIMIT_MB = 10.0
CONCURRENCY = 8

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the server's resident memory from /proc (Linux)"
)


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc status")


async def open_use_and_delete(client: httpx.AsyncClient, url: str, with_stream: bool) -> None:
    opened = await client.post(url, json=INITIALIZE, headers=POST_HEADERS)
    assert opened.status_code == 200, opened.text
    headers = {
        **POST_HEADERS,
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": HANDSHAKE_VERSION,
    }
    assert (await client.post(url, json=INITIALIZED, headers=headers)).status_code == 202
    if with_stream:  # opened, then closed by the client
        async with client.stream("GET", url, headers={**headers, "accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
    assert (await client.delete(url, headers=headers)).status_code == 200


async def churn(url: str, sessions: int, with_stream: bool = False) -> None:
    limiter = anyio.CapacityLimiter(CONCURRENCY)

    async def one() -> None:
        async with limiter:
            await open_use_and_delete(client, url, with_stream)

    async with httpx.AsyncClient(timeout=60) as client, anyio.create_task_group() as group:
        for _ in range(sessions):
            group.start_soon(one)


def test_memory_returns_near_its_start_after_session_and_stream_churn() -> None:
    with fresh_database_url() as database_url:
        servers = start_servers(base_env(database_url, OMNI_MCP_RATE_LIMIT__ENABLED="false"), count=1)
        try:
            [(base, process)] = servers
            url = base + "/mcp"
            anyio.run(churn, url, STREAMS, True)  # warm-up: every path allocated once
            anyio.run(churn, url, WARM_UP_SESSIONS)
            start = resident_mb(process.pid)
            anyio.run(churn, url, SESSIONS)
            after_sessions = resident_mb(process.pid)
            anyio.run(churn, url, STREAMS, True)
            end = resident_mb(process.pid)
        finally:
            stop(servers)
    print(
        f"\nRSS: {start:.1f} MB after warm-up, {after_sessions:.1f} MB after {SESSIONS} sessions, "
        f"{end:.1f} MB after {STREAMS} GET streams"
    )
    assert end - start <= RSS_GROWTH_LIMIT_MB
