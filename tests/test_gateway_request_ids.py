"""Concurrent requests reusing one JSON-RPC id: a handshake-era session refuses the duplicate at once,
and 2026-07-28 (no session) answers each. Nobody waits for an answer that never comes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from omni_mcp import ToolGroup, hookimpl
from omni_mcp.testing import RunningGateway

pytestmark = pytest.mark.anyio

ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
WAIT_LIMIT = 10.0


class Rendezvous:
    """A tool that says it has started, then waits for the test to let it finish."""

    def __init__(self) -> None:
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("meet")

        @group.tool
        async def wait() -> str:
            self.arrived.release()
            await anyio.to_thread.run_sync(self.release.wait, WAIT_LIMIT)
            return "released"

        return group

    async def started(self) -> None:
        assert await anyio.to_thread.run_sync(self.arrived.acquire, True, WAIT_LIMIT), "the tool never ran"


def call(request_id: int, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": "meet_wait", "arguments": {}}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


async def open_session(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    opened = await client.post(url, json=initialize, headers=ACCEPT)
    headers = {
        **ACCEPT,
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }
    await client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def test_duplicate_id_in_a_session_is_refused_and_the_first_is_answered(
    serve_gateway: Callable[..., RunningGateway],
) -> None:
    rendezvous = Rendezvous()
    gateway = serve_gateway([("meet", rendezvous)])
    first: list[httpx.Response] = []
    async with httpx.AsyncClient(timeout=WAIT_LIMIT) as client, anyio.create_task_group() as tasks:
        headers = await open_session(client, gateway.mcp_url)

        async def first_call() -> None:
            first.append(await client.post(gateway.mcp_url, json=call(7), headers=headers))

        tasks.start_soon(first_call)
        await rendezvous.started()
        duplicates = [await client.post(gateway.mcp_url, json=call(7), headers=headers) for _ in range(2)]
        rendezvous.release.set()
    for duplicate in duplicates:
        assert duplicate.status_code == 409
        assert duplicate.json() == {
            "jsonrpc": "2.0",
            "id": 7,
            "error": {
                "code": -32600,
                "message": "Request id 7 is already used by a request in progress in this session",
            },
        }
    assert first[0].status_code == 200 and '"released"' in first[0].text
    assert rendezvous.arrived.acquire(blocking=False) is False  # the duplicates never ran the tool

    # Once answered, the id may be used again.
    async with httpx.AsyncClient(timeout=WAIT_LIMIT) as client:
        again = await client.post(gateway.mcp_url, json=call(7), headers=headers)
    assert again.status_code == 200 and '"released"' in again.text


async def test_same_id_without_a_session_is_answered_each_time(
    serve_gateway: Callable[..., RunningGateway],
) -> None:
    rendezvous = Rendezvous()
    gateway = serve_gateway([("meet", rendezvous)])
    headers = {
        **ACCEPT,
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "meet_wait",
    }
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(timeout=WAIT_LIMIT) as client, anyio.create_task_group() as tasks:

        async def one_call() -> None:
            answers.append(await client.post(gateway.mcp_url, json=call(7, MODERN_META), headers=headers))

        for _ in range(3):
            tasks.start_soon(one_call)
        for _ in range(3):
            await rendezvous.started()  # all three run at once
        rendezvous.release.set()
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all('"id":7' in answer.text and '"released"' in answer.text for answer in answers)
