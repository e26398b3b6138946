"""Durable tasks in the handshake era (2025-11-25, SEP-1686), through a real server: a `task` param on
tools/call, tasks/get, tasks/result (waits for the outcome), tasks/list (newest first), tasks/cancel."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import mcp
import pytest

from omni_mcp import ToolGroup, hookimpl
from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.test_tasks_extension import JobsPlugin

pytestmark = pytest.mark.anyio
held = threading.Event()
waiting = ToolGroup("held")


@waiting.tool(name="job", task_support="optional")
async def held_job() -> str:
    """Runs until the test lets it finish (or the task is cancelled)."""
    await anyio.to_thread.run_sync(held.wait, abandon_on_cancel=True)
    return "released"


class HeldPlugin:
    @hookimpl
    def register_tools(self) -> list[ToolGroup]:
        return [waiting]


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with fresh_database_url() as url:
        settings = make_test_settings(url, tasks={"default_ttl": 60.0, "max_ttl": 120.0})
        with serve_in_thread(
            settings, extra_plugins=[("jobs", JobsPlugin()), ("held", HeldPlugin())]
        ) as running:
            yield running


class LegacyCaller:
    """A handshake-era session on the wire: the SDK client validates a tools/call answer as a CallToolResult
    only, so it cannot receive the CreateTaskResult of a task-augmented call."""

    def __init__(self, gateway: RunningGateway, key: str | None = None) -> None:
        self.url = gateway.mcp_url
        self.headers = {"Accept": "application/json, text/event-stream"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.last_id = 0

    async def __aenter__(self) -> LegacyCaller:
        self.http = httpx2.AsyncClient(timeout=30, headers=self.headers)
        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {"tasks": {}},
            "clientInfo": {"name": "t", "version": "1"},
        }
        response = await self.http.post(
            self.url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}
        )
        self.http.headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
        self.http.headers["MCP-Protocol-Version"] = "2025-11-25"
        await self.http.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.last_id += 1  # ids are unique within a session
        response = await self.http.post(
            self.url, json={"jsonrpc": "2.0", "id": self.last_id, "method": method, "params": params}
        )
        if response.headers.get("content-type", "").startswith("application/json"):
            answer: dict[str, Any] = response.json()
            return answer
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        answers = [json.loads(item) for item in data if item.strip()]
        return next(a for a in answers if "result" in a or "error" in a)

    async def result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = await self.request(method, params)
        assert "result" in answer, answer
        result: dict[str, Any] = answer["result"]
        return result

    async def error(self, method: str, params: dict[str, Any]) -> str:
        answer = await self.request(method, params)
        assert "error" in answer, answer
        message: str = answer["error"]["message"]
        return message


def as_task(name: str, ttl: int | None = None) -> dict[str, Any]:
    return {"name": name, "arguments": {}, "task": {"ttl": ttl} if ttl else {}}


async def test_a_task_augmented_call_is_polled_listed_and_its_result_fetched(gateway: RunningGateway) -> None:
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:  # advertised in `initialize`
        assert client.server_capabilities.tasks is not None
    async with LegacyCaller(gateway) as caller:
        created = (await caller.result("tools/call", as_task("jobs_only_task", ttl=10**9)))["task"]
        assert created["ttl"] == 120_000 and created["status"] == "working"  # bounded by tasks.max_ttl
        task_id = created["taskId"]
        payload = await caller.result("tasks/result", {"taskId": task_id})  # waits for the outcome
        assert payload["content"][0]["text"] == "ran as a task"
        assert payload["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
        assert (await caller.result("tasks/get", {"taskId": task_id}))["status"] == "completed"
        assert "already completed" in await caller.error("tasks/cancel", {"taskId": task_id})  # sticky
        newer = (await caller.result("tools/call", as_task("jobs_only_task")))["task"]
        listed = await caller.result("tasks/list", {})
        assert [task["taskId"] for task in listed["tasks"]][:2] == [newer["taskId"], task_id]
        assert "must be called as a task" in await caller.error("tools/call", {"name": "jobs_only_task"})


async def test_cancel_stops_a_running_task_and_other_callers_see_nothing(gateway: RunningGateway) -> None:
    keys = api_key_service(gateway.runtime)
    owner_key = keys.create("default", role="member", actor="t").key
    other_key = keys.create("default", role="member", actor="t").key
    async with LegacyCaller(gateway, owner_key) as owner, LegacyCaller(gateway, other_key) as other:
        task_id = (await owner.result("tools/call", as_task("held_job")))["task"]["taskId"]
        for method in ("tasks/get", "tasks/result", "tasks/cancel"):
            assert "Unknown task" in await other.error(method, {"taskId": task_id}), method
        assert task_id not in {task["taskId"] for task in (await other.result("tasks/list", {}))["tasks"]}
        cancelled = await owner.result("tasks/cancel", {"taskId": task_id})
        assert cancelled["status"] == "cancelled"
        assert (await owner.result("tasks/get", {"taskId": task_id}))["status"] == "cancelled"
        assert "cancelled" in await owner.error("tasks/result", {"taskId": task_id})
