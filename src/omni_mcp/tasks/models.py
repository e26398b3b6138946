"""The table behind durable tasks: one row per task, readable by any process of the deployment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import OrgScoped, organization_id_field

WORKING = "working"
INPUT_REQUIRED = "input_required"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
ACTIVE_STATUSES = (WORKING, INPUT_REQUIRED)
TERMINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)


class TaskRecord(OrgScoped, SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_recent", "organization_id", "owner", "created_at"),
        Index("ix_tasks_expires_at", "expires_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    organization_id: int = organization_id_field()
    owner: str = Field(max_length=300)
    """The creating caller within its organization ("<actor kind>:<actor id>"): only it may see the task."""
    tool: str = Field(max_length=200)
    status: str = Field(max_length=20)
    status_message: str | None = Field(default=None, max_length=2000)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    input_requests: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """While `input_required`: the requests (by key) the client has not answered yet."""
    input_responses: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The answers delivered by tasks/update for the current round."""
    ttl_ms: int
    poll_interval_ms: int
    runner: str = Field(max_length=100)
    """The process running it; with `heartbeat_at` it lets another process notice that the runner died."""
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
