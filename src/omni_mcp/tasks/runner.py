"""TaskRunner: runs task-augmented tool calls in the background of this process and keeps their lease.

State goes to the database (TaskStore), so any process answers for a task. While this process runs tasks, a
heartbeat renews their lease, stops the ones cancelled through another process, fails tasks whose runner died
(their lease ran out) and deletes expired ones.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import mcp.types as types
from loguru import logger
from mcp.shared.exceptions import MCPError

from omni_mcp.db.models import utcnow
from omni_mcp.redaction import redact_secrets
from omni_mcp.settings import TasksSettings
from omni_mcp.tasks.models import ACTIVE_STATUSES, CANCELLED, COMPLETED, FAILED, TaskRecord
from omni_mcp.tasks.store import TaskStore, as_utc

INPUT_POLL_SECONDS = 0.5
Work = Callable[[], Awaitable[dict[str, Any]]]
"""Runs the tool call; returns its result as a wire dict, or raises MCPError for a protocol-level failure."""


def process_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TaskRunner:
    def __init__(self, store: TaskStore, settings: TasksSettings) -> None:
        self.store = store
        self.settings = settings
        self._running: dict[str, asyncio.Task[None]] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._wakes: dict[str, asyncio.Event] = {}

    def start(self, task_id: str, work: Work) -> None:
        self._running[task_id] = asyncio.get_running_loop().create_task(self._run(task_id, work))
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._keep_leases())

    async def input(self, task_id: str, input_requests: dict[str, Any]) -> dict[str, Any]:
        """Park the task until the client has answered every request (through tasks/update, on any process);
        returns the answers. Raises CancelledError if the task stopped meanwhile."""
        await self.store.await_input(task_id, input_requests)
        wake = self._wakes.setdefault(task_id, asyncio.Event())
        try:
            while True:
                record = await self.store.peek(task_id)
                if record is None or record.status not in ACTIVE_STATUSES:
                    raise asyncio.CancelledError
                if not record.input_requests:
                    await self.store.resume(task_id)
                    return dict(record.input_responses or {})
                wake.clear()
                with anyio.move_on_after(INPUT_POLL_SECONDS):  # answers given to another process
                    await wake.wait()
        finally:
            self._wakes.pop(task_id, None)

    def answered(self, task_id: str) -> None:
        """tasks/update recorded answers: let a waiting task of this process look at once."""
        wake = self._wakes.get(task_id)
        if wake is not None:
            wake.set()

    def lease_expired(self, record: TaskRecord) -> bool:
        """An active task whose runner has not renewed its lease in time (it died, or lost the database)."""
        if record.status not in ACTIVE_STATUSES:
            return False
        heartbeat = as_utc(record.heartbeat_at)
        return utcnow() - heartbeat > timedelta(seconds=self.settings.lease)

    def stop(self, task_id: str) -> None:
        """Stop this process's work on a task (its status is already terminal in the database)."""
        running = self._running.get(task_id)
        if running is not None:
            running.cancel()

    async def close(self) -> None:
        for running in list(self._running.values()):
            running.cancel()
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    async def _run(self, task_id: str, work: Work) -> None:
        try:
            result = await work()
            await self.store.finish(task_id, COMPLETED, result=result)
        except asyncio.CancelledError:
            await asyncio.shield(self.store.finish(task_id, CANCELLED, message="Cancelled"))
        except MCPError as error:
            await self.store.finish(
                task_id,
                FAILED,
                error={"code": error.code, "message": redact_secrets(error.message)},
                message=redact_secrets(error.message),
            )
        except Exception as error:  # the task must end in a state, never stay `working`
            logger.opt(exception=error).error("task {} failed", task_id)
            await self.store.finish(
                task_id,
                FAILED,
                error={"code": types.INTERNAL_ERROR, "message": "The task failed inside the gateway"},
                message="The task failed inside the gateway",
            )
        finally:
            self._running.pop(task_id, None)

    async def _keep_leases(self) -> None:
        interval = max(0.2, self.settings.lease / 3)
        while self._running:
            try:
                for task_id in await self.store.heartbeat(list(self._running)):
                    self.stop(task_id)  # cancelled (or expired) through another process
                await self.store.reap(timedelta(seconds=self.settings.lease))
            except Exception as error:  # a database hiccup must not end the heartbeat
                logger.warning("task heartbeat failed: {}", error)
            await asyncio.sleep(interval)  # the lease period itself, not a wait for an event
