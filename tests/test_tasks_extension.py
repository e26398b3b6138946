"""Durable tasks in the 2026-07-28 era (the io.modelcontextprotocol/tasks extension, SEP-2663), through a
real server: a task-augmented tools/call answers at once, the task lives in the database, only its creator
sees it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import httpx2
import mcp
import mcp.types as types
import pytest
from sqlmodel import Session, select

from omni_mcp import CallContext, ToolGroup, hookimpl
from omni_mcp.audit.models import CallLog
from omni_mcp.db.models import utcnow
from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.tasks.models import TaskRecord
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread

pytestmark = pytest.mark.anyio
TASKS = "io.modelcontextprotocol/tasks"
VERSION = "2026-07-28"

jobs = ToolGroup("jobs")
release = threading.Event()  # set by the test, waited for on the server's own thread


@jobs.tool(task_support="optional")
async def wait(label: str = "") -> str:
    """Finishes once the test lets it (or at once with label 'now')."""
    if label != "now":
        await anyio.to_thread.run_sync(release.wait)
    return f"done {label}"


@jobs.tool(task_support="required")
async def only_task() -> str:
    """Runs only as a task."""
    return "ran as a task"


@jobs.tool(task_support="optional")
async def ask(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks the client two questions at once, then answers with both replies."""
    answers = ctx.input_responses or {}
    first, second = answers.get("first"), answers.get("second")
    if not isinstance(first, types.ElicitResult) or not isinstance(second, types.ElicitResult):
        question = types.ElicitRequest(
            params=types.ElicitRequestFormParams(
                message="Name?",
                requested_schema={"type": "object", "properties": {"name": {"type": "string"}}},
            )
        )
        return types.InputRequiredResult(input_requests={"first": question, "second": question})
    return f"{(first.content or {}).get('name')} and {(second.content or {}).get('name')}"


@jobs.tool(task_support="optional")
async def audited() -> str:
    """Called once, as a task, by the audit test."""
    return "audited"


@jobs.tool
async def sync() -> str:
    """No task support: always synchronous."""
    return "sync"


class JobsPlugin:
    @hookimpl
    def register_tools(self) -> list[ToolGroup]:
        return [jobs]


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with fresh_database_url() as url:
        settings = make_test_settings(url, tasks={"default_ttl": 60.0, "lease": 30.0})
        with serve_in_thread(settings, extra_plugins=[("jobs", JobsPlugin())]) as running:
            yield running


class Caller:
    """Speaks the 2026-07-28 wire directly: the SDK client has no tasks-extension surface yet."""

    def __init__(self, url: str, key: str | None = None, *, tasks: bool = True) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.tasks = tasks

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        capabilities: dict[str, Any] = {"extensions": {TASKS: {}}} if self.tasks else {}
        meta = {
            "io.modelcontextprotocol/protocolVersion": VERSION,
            "io.modelcontextprotocol/clientCapabilities": capabilities,
            "io.modelcontextprotocol/clientInfo": {"name": "tasks-test", "version": "1"},
        }
        headers = {
            **self.headers,
            "MCP-Protocol-Version": VERSION,
            "Mcp-Method": method,
            "Accept": "application/json, text/event-stream",
        }
        if method == "tools/call":
            headers["Mcp-Name"] = params["name"]
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
        async with httpx2.AsyncClient(timeout=30) as http:
            response = await http.post(self.url, json=body, headers=headers)
        answer: dict[str, Any] = response.json()
        return answer

    async def result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = await self.request(method, params)
        assert "result" in answer, answer
        result: dict[str, Any] = answer["result"]
        return result

    async def error_code(self, method: str, params: dict[str, Any]) -> int:
        answer = await self.request(method, params)
        assert "error" in answer, answer
        code: int = answer["error"]["code"]
        return code

    async def settled(self, task_id: str) -> dict[str, Any]:
        with anyio.fail_after(20):
            while True:
                task = await self.result("tasks/get", {"taskId": task_id})
                if task["status"] not in ("working", "input_required"):
                    return task
                await anyio.sleep(0.05)


async def test_a_task_runs_in_the_background_and_its_result_is_stored(gateway: RunningGateway) -> None:
    caller = Caller(gateway.mcp_url)
    created = await caller.result("tools/call", {"name": "jobs_wait", "arguments": {"label": "bg"}})
    assert created["resultType"] == "task" and created["status"] == "working"
    assert isinstance(created["ttlMs"], int) and "result" not in created
    working = await caller.result("tasks/get", {"taskId": created["taskId"]})
    assert working["status"] == "working" and "result" not in working
    release.set()
    done = await caller.settled(created["taskId"])
    assert done["status"] == "completed" and done["result"]["content"][0]["text"] == "done bg"
    with Session(gateway.runtime.engine) as session:
        row = session.get(TaskRecord, created["taskId"])
    assert row is not None and row.status == "completed" and row.result == done["result"]


async def test_cancel_is_sticky_and_acknowledged_without_the_task(gateway: RunningGateway) -> None:
    caller = Caller(gateway.mcp_url)
    created = await caller.result("tools/call", {"name": "jobs_only_task", "arguments": {}})
    done = await caller.settled(created["taskId"])
    assert done["status"] == "completed"
    ack = await caller.result("tasks/cancel", {"taskId": created["taskId"]})
    assert ack == {"resultType": "complete", **{k: v for k, v in ack.items() if k == "_meta"}}
    assert (await caller.result("tasks/get", {"taskId": created["taskId"]}))["status"] == "completed"


async def test_another_caller_of_the_same_organization_is_refused_every_task_method(
    gateway: RunningGateway,
) -> None:
    keys = api_key_service(gateway.runtime)
    owner = Caller(gateway.mcp_url, keys.create("default", role="member", actor="t").key)
    other = Caller(gateway.mcp_url, keys.create("default", role="member", actor="t").key)
    created = await owner.result("tools/call", {"name": "jobs_only_task", "arguments": {}})
    task_id = created["taskId"]
    await owner.settled(task_id)
    for method, params in [
        ("tasks/get", {"taskId": task_id}),
        ("tasks/cancel", {"taskId": task_id}),
        ("tasks/update", {"taskId": task_id, "inputResponses": {}}),
    ]:
        assert await other.error_code(method, params) == -32602, method
    assert (await owner.result("tasks/get", {"taskId": task_id}))["status"] == "completed"


async def test_without_the_extension_task_methods_and_task_only_tools_are_refused(
    gateway: RunningGateway,
) -> None:
    plain = Caller(gateway.mcp_url, tasks=False)
    assert await plain.error_code("tasks/get", {"taskId": "x"}) == -32021
    answer = await plain.request("tools/call", {"name": "jobs_only_task", "arguments": {}})
    assert answer["error"]["code"] == -32021
    assert TASKS in answer["error"]["data"]["requiredCapabilities"]["extensions"]
    synchronous = await plain.result("tools/call", {"name": "jobs_wait", "arguments": {"label": "now"}})
    assert synchronous["content"][0]["text"] == "done now" and "taskId" not in synchronous


async def test_removed_methods_and_unknown_tasks_get_the_protocol_errors(gateway: RunningGateway) -> None:
    caller = Caller(gateway.mcp_url)
    assert await caller.error_code("tasks/result", {"taskId": "x"}) == -32601
    assert await caller.error_code("tasks/list", {}) == -32601
    assert await caller.error_code("tasks/get", {"taskId": "no-such-task"}) == -32602
    assert await caller.error_code("tasks/get", {}) == -32602
    sync = await caller.result("tools/call", {"name": "jobs_sync", "arguments": {}})
    assert sync["resultType"] == "complete" and "taskId" not in sync


async def test_a_task_whose_runner_died_is_failed_when_read(gateway: RunningGateway) -> None:
    caller = Caller(gateway.mcp_url)
    created = await caller.result("tools/call", {"name": "jobs_only_task", "arguments": {}})
    await caller.settled(created["taskId"])
    with Session(gateway.runtime.engine) as session:  # a task a vanished process left `working`
        row = session.get(TaskRecord, created["taskId"])
        assert row is not None
        row.status, row.result, row.runner = "working", None, "gone:1:dead"
        row.heartbeat_at = utcnow() - timedelta(seconds=31)
        session.add(row)
        session.commit()
    task = await caller.result("tasks/get", {"taskId": created["taskId"]})
    assert task["status"] == "failed" and task["error"]["code"] == -32603 and "result" not in task


async def test_an_expired_task_is_gone(gateway: RunningGateway) -> None:
    caller = Caller(gateway.mcp_url)
    created = await caller.result("tools/call", {"name": "jobs_only_task", "arguments": {}})
    await caller.settled(created["taskId"])
    with Session(gateway.runtime.engine) as session:
        row = session.get(TaskRecord, created["taskId"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert await caller.error_code("tasks/get", {"taskId": created["taskId"]}) == -32602


async def test_tools_list_declares_each_tools_task_support(gateway: RunningGateway) -> None:
    # `execution` is a handshake-era Tool field; the 2026-07-28 Tool shape has none.
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert (
        tools["jobs_wait"].execution is not None and tools["jobs_wait"].execution.task_support == "optional"
    )
    assert tools["jobs_only_task"].execution is not None
    assert tools["jobs_only_task"].execution.task_support == "required"
    assert tools["jobs_sync"].execution is None


async def test_a_task_waits_for_every_input_and_then_runs_again_with_the_answers(
    gateway: RunningGateway,
) -> None:
    caller = Caller(gateway.mcp_url)
    task_id = (await caller.result("tools/call", {"name": "jobs_ask", "arguments": {}}))["taskId"]
    with anyio.fail_after(20):
        while True:
            task = await caller.result("tasks/get", {"taskId": task_id})
            if task["status"] == "input_required":
                break
            await anyio.sleep(0.05)
    assert set(task["inputRequests"]) == {"first", "second"}
    reply = {"action": "accept", "content": {"name": "Ada"}}
    ack = await caller.result("tasks/update", {"taskId": task_id, "inputResponses": {"first": reply}})
    assert ack["resultType"] == "complete" and "status" not in ack
    partly = await caller.result("tasks/get", {"taskId": task_id})
    assert partly["status"] == "input_required" and set(partly["inputRequests"]) == {"second"}
    other = {"action": "accept", "content": {"name": "Grace"}}
    await caller.result("tasks/update", {"taskId": task_id, "inputResponses": {"second": other}})
    done = await caller.settled(task_id)
    assert done["status"] == "completed" and done["result"]["content"][0]["text"] == "Ada and Grace"


async def test_a_task_is_audited_once_with_its_final_outcome(gateway: RunningGateway) -> None:
    caller = Caller(gateway.mcp_url)
    created = await caller.result("tools/call", {"name": "jobs_audited", "arguments": {}})
    assert (await caller.settled(created["taskId"]))["status"] == "completed"
    with anyio.fail_after(20):
        while True:  # the call audit is written in batches: poll the table
            with Session(gateway.runtime.engine) as session:
                rows = session.exec(select(CallLog).where(CallLog.name == "jobs_audited")).all()
            if rows:
                break
            await anyio.sleep(0.05)
    assert [(row.kind, row.outcome) for row in rows] == [("tool", "ok")]
