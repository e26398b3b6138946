"""How a task looks on the wire in the 2026-07-28 tasks extension (SEP-2663)."""

from __future__ import annotations

from typing import Any

from omni_mcp.tasks.models import COMPLETED, FAILED, INPUT_REQUIRED, TaskRecord
from omni_mcp.tasks.store import iso

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
HEADER_MISMATCH = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021


def task_fields(record: TaskRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "taskId": record.id,
        "status": record.status,
        "createdAt": iso(record.created_at),
        "lastUpdatedAt": iso(record.updated_at),
        "ttlMs": record.ttl_ms,
        "pollIntervalMs": record.poll_interval_ms,
    }
    if record.status_message:
        fields["statusMessage"] = record.status_message
    return fields


def create_task_result(record: TaskRecord) -> dict[str, Any]:
    """The flat CreateTaskResult answering a task-augmented tools/call."""
    return {"resultType": "task", **task_fields(record)}


def detailed_task(record: TaskRecord) -> dict[str, Any]:
    """tasks/get: the task, with the tool's result (completed) or the protocol error (failed) inlined."""
    detailed = {"resultType": "complete", **task_fields(record)}
    if record.status == COMPLETED and record.result is not None:
        detailed["result"] = record.result
    if record.status == INPUT_REQUIRED and record.input_requests:
        detailed["inputRequests"] = record.input_requests
    if record.status == FAILED and record.error is not None:
        detailed["error"] = record.error
    return detailed


RELATED_TASK_META = "io.modelcontextprotocol/related-task"


def legacy_task(record: TaskRecord) -> dict[str, Any]:
    """The 2025-11-25 Task (SEP-1686): `ttl` and `pollInterval` in milliseconds."""
    task: dict[str, Any] = {
        "taskId": record.id,
        "status": record.status,
        "createdAt": iso(record.created_at),
        "lastUpdatedAt": iso(record.updated_at),
        "ttl": record.ttl_ms,
        "pollInterval": record.poll_interval_ms,
    }
    if record.status_message:
        task["statusMessage"] = record.status_message
    return task


def legacy_payload(record: TaskRecord) -> dict[str, Any]:
    """tasks/result of a completed task: the tool's result, tied to its task in `_meta`."""
    result = dict(record.result or {})
    result["_meta"] = {**(result.get("_meta") or {}), RELATED_TASK_META: {"taskId": record.id}}
    return result
