"""TaskStore: the database side of tasks. Every read is scoped to the organization and the creating caller."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import org_session
from omni_mcp.tasks.models import (
    ACTIVE_STATUSES,
    CANCELLED,
    FAILED,
    INPUT_REQUIRED,
    WORKING,
    TaskRecord,
)


@dataclass(frozen=True)
class TaskOwner:
    """Who may see a task: the creating caller within its organization."""

    organization_id: int
    caller: str


class TaskStore:
    def __init__(self, engine: Engine, runner_id: str) -> None:
        self._engine = engine
        self.runner_id = runner_id

    async def create(self, owner: TaskOwner, tool: str, ttl_ms: int, poll_interval_ms: int) -> TaskRecord:
        return await anyio.to_thread.run_sync(self._create, owner, tool, ttl_ms, poll_interval_ms)

    async def get(self, owner: TaskOwner, task_id: str) -> TaskRecord | None:
        """The task, or None when it does not exist, expired, or belongs to another caller."""
        return await anyio.to_thread.run_sync(self._get, owner, task_id)

    async def recent(self, owner: TaskOwner, offset: int, limit: int) -> list[TaskRecord]:
        """The caller's live tasks, newest first."""
        return await anyio.to_thread.run_sync(self._recent, owner, offset, limit)

    async def finish(
        self,
        task_id: str,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> bool:
        """Move an active task to a terminal state; False if it already was terminal (terminal is sticky)."""
        return await anyio.to_thread.run_sync(self._finish, task_id, status, result, error, message)

    async def cancel(self, owner: TaskOwner, task_id: str) -> bool:
        """Mark the caller's task cancelled; False when it is not the caller's or does not exist."""
        record = await self.get(owner, task_id)
        if record is None:
            return False
        await self.finish(task_id, CANCELLED, message="Cancelled by the client")
        return True

    async def await_input(self, task_id: str, input_requests: dict[str, Any]) -> None:
        """Park an active task in `input_required` until the client answers `input_requests`."""
        await anyio.to_thread.run_sync(self._await_input, task_id, input_requests)

    async def answer(self, owner: TaskOwner, task_id: str, responses: dict[str, Any]) -> None:
        """Record the caller's answers to pending input requests (unknown keys are ignored)."""
        await anyio.to_thread.run_sync(self._answer, owner, task_id, responses)

    async def peek(self, task_id: str) -> TaskRecord | None:
        """The task as its runner sees it (no caller scope: the runner owns it)."""
        return await anyio.to_thread.run_sync(self._peek, task_id)

    async def resume(self, task_id: str) -> bool:
        """Back to `working` once every input request is answered; False if no longer active."""
        return await anyio.to_thread.run_sync(self._resume, task_id)

    async def heartbeat(self, task_ids: list[str]) -> set[str]:
        """Refresh this process's lease on its running tasks; returns those no longer active (cancelled
        elsewhere, expired) so their work can be stopped."""
        return await anyio.to_thread.run_sync(self._heartbeat, task_ids)

    async def reap(self, lease: timedelta) -> int:
        """Fail active tasks whose runner stopped renewing its lease, and delete expired tasks."""
        return await anyio.to_thread.run_sync(self._reap, lease)

    def _create(self, owner: TaskOwner, tool: str, ttl_ms: int, poll_interval_ms: int) -> TaskRecord:
        now = utcnow()
        record = TaskRecord(
            id=secrets.token_urlsafe(18),
            organization_id=owner.organization_id,
            owner=owner.caller,
            tool=tool,
            status=WORKING,
            ttl_ms=ttl_ms,
            poll_interval_ms=poll_interval_ms,
            runner=self.runner_id,
            heartbeat_at=now,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(milliseconds=ttl_ms),
        )
        with org_session(self._engine, owner.organization_id) as session:
            session.add(record)
            session.commit()  # durable before the client hears of it
            session.refresh(record)
            session.expunge(record)
        return record

    def _get(self, owner: TaskOwner, task_id: str) -> TaskRecord | None:
        with org_session(self._engine, owner.organization_id) as session:
            record = session.exec(
                select(TaskRecord).where(
                    TaskRecord.id == task_id,
                    TaskRecord.organization_id == owner.organization_id,
                    TaskRecord.owner == owner.caller,
                    col(TaskRecord.expires_at) > utcnow(),
                )
            ).first()
            if record is not None:
                session.expunge(record)
            return record

    def _recent(self, owner: TaskOwner, offset: int, limit: int) -> list[TaskRecord]:
        with org_session(self._engine, owner.organization_id) as session:
            records = session.exec(
                select(TaskRecord)
                .where(
                    TaskRecord.organization_id == owner.organization_id,
                    TaskRecord.owner == owner.caller,
                    col(TaskRecord.expires_at) > utcnow(),
                )
                .order_by(col(TaskRecord.created_at).desc(), col(TaskRecord.id).desc())
                .offset(offset)
                .limit(limit)
            ).all()
            for record in records:
                session.expunge(record)
            return list(records)

    def _finish(
        self,
        task_id: str,
        status: str,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        message: str | None,
    ) -> bool:
        now = utcnow()
        with Session(self._engine) as session:
            changed = session.execute(
                update(TaskRecord)
                .where(col(TaskRecord.id) == task_id, col(TaskRecord.status).in_(ACTIVE_STATUSES))
                .values(status=status, result=result, error=error, status_message=message, updated_at=now)
            )
            session.commit()
            return bool(getattr(changed, "rowcount", 0))

    def _await_input(self, task_id: str, input_requests: dict[str, Any]) -> None:
        with Session(self._engine) as session:
            session.execute(
                update(TaskRecord)
                .where(col(TaskRecord.id) == task_id, col(TaskRecord.status).in_(ACTIVE_STATUSES))
                .values(
                    status=INPUT_REQUIRED,
                    input_requests=input_requests,
                    input_responses={},
                    status_message="Waiting for input from the client",
                    updated_at=utcnow(),
                )
            )
            session.commit()

    def _answer(self, owner: TaskOwner, task_id: str, responses: dict[str, Any]) -> None:
        with org_session(self._engine, owner.organization_id) as session:
            record = session.exec(
                select(TaskRecord)
                .where(TaskRecord.id == task_id, TaskRecord.owner == owner.caller)
                .with_for_update()
            ).first()
            if record is None or record.status != INPUT_REQUIRED:
                return
            pending = dict(record.input_requests or {})
            answered = dict(record.input_responses or {})
            for key, response in responses.items():
                if key in pending:
                    answered[key] = response
                    del pending[key]
            record.input_requests, record.input_responses, record.updated_at = pending, answered, utcnow()
            session.add(record)
            session.commit()

    def _peek(self, task_id: str) -> TaskRecord | None:
        with Session(self._engine) as session:
            record = session.get(TaskRecord, task_id)
            if record is not None:
                session.expunge(record)
            return record

    def _resume(self, task_id: str) -> bool:
        with Session(self._engine) as session:
            changed = session.execute(
                update(TaskRecord)
                .where(col(TaskRecord.id) == task_id, col(TaskRecord.status) == INPUT_REQUIRED)
                .values(status=WORKING, input_requests=None, status_message=None, updated_at=utcnow())
            )
            session.commit()
            return bool(getattr(changed, "rowcount", 0))

    def _heartbeat(self, task_ids: list[str]) -> set[str]:
        if not task_ids:
            return set()
        with Session(self._engine) as session:
            session.execute(
                update(TaskRecord)
                .where(col(TaskRecord.id).in_(task_ids), col(TaskRecord.status).in_(ACTIVE_STATUSES))
                .values(heartbeat_at=utcnow())
            )
            session.commit()
            active = session.exec(
                select(TaskRecord.id).where(
                    col(TaskRecord.id).in_(task_ids), col(TaskRecord.status).in_(ACTIVE_STATUSES)
                )
            ).all()
        return set(task_ids) - set(active)

    def _reap(self, lease: timedelta) -> int:
        now = utcnow()
        with Session(self._engine) as session:
            stale = session.execute(
                update(TaskRecord)
                .where(
                    col(TaskRecord.status).in_(ACTIVE_STATUSES), col(TaskRecord.heartbeat_at) < now - lease
                )
                .values(
                    status=FAILED,
                    updated_at=now,
                    status_message="The process running this task stopped",
                    error={
                        "code": -32603,
                        "message": "The process running this task stopped before it finished",
                    },
                )
            )
            session.execute(delete(TaskRecord).where(col(TaskRecord.expires_at) <= now))
            session.commit()
            return int(getattr(stale, "rowcount", 0) or 0)


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, as the wire wants (SQLite gives naive datetimes back)."""
    text = as_utc(moment).replace(tzinfo=None).isoformat(timespec="milliseconds")
    return f"{text}Z"


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones in its session zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
