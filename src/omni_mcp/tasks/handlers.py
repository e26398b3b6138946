"""The tasks surface of the MCP server: task-augmented tools/call, tasks/get, tasks/cancel, tasks/update.

2026-07-28 (tasks extension, SEP-2663): a client that declares `io.modelcontextprotocol/tasks` (for the
session or in one request's `_meta`) and calls a tool whose `execution.taskSupport` is optional or required
gets a CreateTaskResult at once; the call runs in the background and its outcome is stored with the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import anyio
import mcp.types as types
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.config.effective import UnknownOrganization
from omni_mcp.runtime import Runtime
from omni_mcp.tasks.models import COMPLETED, TERMINAL_STATUSES, TaskRecord
from omni_mcp.tasks.runner import TaskRunner
from omni_mcp.tasks.store import TaskOwner
from omni_mcp.tasks.wire import (
    HEADER_MISMATCH,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    TASKS_EXTENSION,
    create_task_result,
    detailed_task,
    legacy_payload,
    legacy_task,
)

Ctx = ServerRequestContext[Any, Any]
TASK_METHODS = ("tasks/get", "tasks/cancel", "tasks/update")
REMOVED_IN_EXTENSION = ("tasks/result", "tasks/list")
LEGACY_TASK_METHODS = ("tasks/get", "tasks/result", "tasks/cancel")
LIST_PAGE = 100
HANDSHAKE_TASKS_CAPABILITY = types.ServerTasksCapability(
    list=types.TasksListCapability(),
    cancel=types.TasksCancelCapability(),
    requests=types.ServerTasksRequestsCapability(
        tools=types.TasksToolsCapability(call=types.TasksCallCapability())
    ),
)


class UpdateTaskParams(types.RequestParams):
    task_id: str = Field(alias="taskId")
    input_responses: dict[str, Any] | None = Field(default=None, alias="inputResponses")


def install_tasks(server: Server[Any], runtime: Runtime, runner: TaskRunner) -> None:
    """Advertise the extension, serve the task methods and route task-augmented tool calls."""
    server.extensions[TASKS_EXTENSION] = {}
    server.middleware.append(_task_middleware(server, runtime, runner))


def _task_middleware(server: Server[Any], runtime: Runtime, runner: TaskRunner) -> ServerMiddleware[Any]:
    settings = runtime.settings.tasks

    async def owner_of(ctx: Ctx) -> TaskOwner:
        actor = actor_in(ctx.request.scope) if ctx.request is not None else None
        if actor is None:
            raise MCPError(types.INVALID_REQUEST, "Unauthenticated request")
        try:
            org = await runtime.org_configs.get(actor.organization)
        except UnknownOrganization:
            raise MCPError(types.INVALID_REQUEST, f"Unknown organization: {actor.organization}") from None
        return TaskOwner(org.organization_id, f"{actor.kind}:{actor.id}")

    async def call_tool_as_task(ctx: Ctx, params: Mapping[str, Any], ttl_ms: int | None = None) -> TaskRecord:
        owner = await owner_of(ctx)
        name = str(params.get("name"))
        longest = int(settings.max_ttl * 1000)
        ttl_ms = min(ttl_ms if ttl_ms and ttl_ms > 0 else int(settings.default_ttl * 1000), longest)
        record = await runner.store.create(owner, name, ttl_ms, int(settings.poll_interval * 1000))
        entry = server.get_request_handler("tools/call")
        assert entry is not None  # the gateway always serves tools/call
        typed = entry.params_type.model_validate(dict(params), by_name=False)

        async def work() -> dict[str, Any]:
            current = typed
            while True:
                result = await entry.handler(ctx, current)
                if not isinstance(result, types.InputRequiredResult):
                    return _wire(result)
                # The tool asked the client for input (SEP-2322): the task waits in input_required, and the
                # tool runs again with the answers, as a multi-round call would.
                requests = _wire(result).get("inputRequests") or {}
                answers = await runner.input(record.id, requests)
                again = {**_wire(typed), "inputResponses": answers, "requestState": result.request_state}
                current = entry.params_type.model_validate(again, by_name=False)

        runner.start(record.id, work)
        return record

    async def task_method(ctx: Ctx, params: Mapping[str, Any]) -> dict[str, Any]:
        if not _declares_tasks(ctx):
            raise MCPError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                f"{ctx.method} needs the {TASKS_EXTENSION} extension in the client's capabilities",
                {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
            )
        try:
            task = UpdateTaskParams.model_validate(dict(params), by_name=False)
        except ValueError:
            raise MCPError(types.INVALID_PARAMS, "taskId (a string) is required") from None
        routed_name = ctx.request.headers.get("mcp-name") if ctx.request is not None else None
        if routed_name is not None and routed_name != task.task_id:
            raise MCPError(HEADER_MISMATCH, "Mcp-Name header does not match the request body's 'taskId'")
        owner = await owner_of(ctx)
        record = await runner.store.get(owner, task.task_id)
        if record is not None and runner.lease_expired(record):
            await runner.store.reap(timedelta(seconds=settings.lease))  # its runner died: fail it now
            record = await runner.store.get(owner, task.task_id)
        if record is None:  # also another caller's task: no hint that it exists
            raise MCPError(types.INVALID_PARAMS, f"Unknown task: {task.task_id}")
        if ctx.method == "tasks/get":
            return detailed_task(record)
        if ctx.method == "tasks/cancel":
            await runner.store.cancel(owner, record.id)
            runner.stop(record.id)
        elif task.input_responses:
            await runner.store.answer(owner, record.id, task.input_responses)
            runner.answered(record.id)
        return {"resultType": "complete"}  # cancel and update acks carry no task envelope

    async def modern_era(ctx: Ctx, call_next: CallNext) -> HandlerResult:
        params: Mapping[str, Any] = ctx.params or {}
        if ctx.method in TASK_METHODS:
            return await task_method(ctx, params)
        if ctx.method in REMOVED_IN_EXTENSION:
            raise MCPError(types.METHOD_NOT_FOUND, "Method not found", ctx.method)
        if ctx.method != "tools/call":
            return await call_next(ctx)
        support = _task_support(runtime, params.get("name"))
        if support in (None, "forbidden"):
            return await call_next(ctx)
        if not _declares_tasks(ctx):
            if support == "required":
                raise MCPError(
                    MISSING_REQUIRED_CLIENT_CAPABILITY,
                    f"Tool '{params.get('name')}' runs only as a task: declare {TASKS_EXTENSION}",
                    {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
                )
            return await call_next(ctx)
        return create_task_result(await call_tool_as_task(ctx, params))

    async def handshake_era(ctx: Ctx, call_next: CallNext) -> HandlerResult:
        """2025-11-25 tasks (SEP-1686): a `task` param on tools/call; tasks/get|result|list|cancel."""
        params: Mapping[str, Any] = ctx.params or {}
        if ctx.method == "tools/call":
            support = _task_support(runtime, params.get("name"))
            requested = params.get("task")
            if support in ("optional", "required") and isinstance(requested, Mapping):
                ttl = requested.get("ttl")
                record = await call_tool_as_task(ctx, params, ttl if isinstance(ttl, int) else None)
                return {"task": legacy_task(record)}
            if support == "required":
                raise MCPError(
                    types.METHOD_NOT_FOUND, f"Tool '{params.get('name')}' must be called as a task"
                )
            return await call_next(ctx)
        if ctx.method == "tasks/list":
            owner = await owner_of(ctx)
            offset = _offset(params.get("cursor"))
            page = await runner.store.recent(owner, offset, LIST_PAGE + 1)
            listed: dict[str, Any] = {"tasks": [legacy_task(record) for record in page[:LIST_PAGE]]}
            if len(page) > LIST_PAGE:
                listed["nextCursor"] = str(offset + LIST_PAGE)
            return listed
        if ctx.method not in LEGACY_TASK_METHODS:
            return await call_next(ctx)
        task_id = params.get("taskId")
        if not isinstance(task_id, str):
            raise MCPError(types.INVALID_PARAMS, "taskId (a string) is required")
        owner = await owner_of(ctx)
        record = await fresh(owner, task_id)
        if ctx.method == "tasks/get":
            return legacy_task(record)
        if ctx.method == "tasks/cancel":
            if record.status in TERMINAL_STATUSES:
                raise MCPError(types.INVALID_PARAMS, f"Task {task_id} is already {record.status}")
            await runner.store.cancel(owner, record.id)
            runner.stop(record.id)
            return legacy_task(await fresh(owner, task_id))
        while record.status not in TERMINAL_STATUSES:  # tasks/result waits for the outcome
            await anyio.sleep(record.poll_interval_ms / 1000)
            record = await fresh(owner, task_id)
        if record.status == COMPLETED:
            return legacy_payload(record)
        error = record.error or {
            "code": types.INTERNAL_ERROR,
            "message": f"Task {task_id} was {record.status}",
        }
        raise MCPError(int(error.get("code", types.INTERNAL_ERROR)), str(error.get("message")))

    async def fresh(owner: TaskOwner, task_id: str) -> TaskRecord:
        record = await runner.store.get(owner, task_id)
        if record is not None and runner.lease_expired(record):
            await runner.store.reap(timedelta(seconds=settings.lease))
            record = await runner.store.get(owner, task_id)
        if record is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown task: {task_id}")
        return record

    async def middleware(ctx: Ctx, call_next: CallNext) -> HandlerResult:
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return await modern_era(ctx, call_next)
        return await handshake_era(ctx, call_next)

    return middleware


def _offset(cursor: Any) -> int:
    if cursor is None:
        return 0
    if not isinstance(cursor, str) or not cursor.isdigit():
        raise MCPError(types.INVALID_PARAMS, "Invalid cursor")
    return int(cursor)


def _wire(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dict(result or {})


def _task_support(runtime: Runtime, name: Any) -> str | None:
    tool = runtime.capabilities.listed_tools.get(name) if isinstance(name, str) else None
    if tool is None or tool.execution is None:
        return None
    return tool.execution.task_support


def _declares_tasks(ctx: Ctx) -> bool:
    """The client declared the tasks extension, for this request (`_meta`) or its session."""
    meta: Mapping[str, Any] = ctx.meta or {}
    declared = meta.get("io.modelcontextprotocol/clientCapabilities")
    if isinstance(declared, Mapping):
        extensions = declared.get("extensions")
        if isinstance(extensions, Mapping) and TASKS_EXTENSION in extensions:
            return True
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.extensions and TASKS_EXTENSION in capabilities.extensions)
