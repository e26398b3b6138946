"""The audit log table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow


class AuditLog(SQLModel, table=True):
    """Who changed what, when, with before/after (secrets redacted). Written in the change's transaction."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_org_time", "organization_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Not OrgScoped: some entries (creating an organization) belong to none, and the log is append-only.
    organization_id: int | None = Field(default=None, foreign_key="organizations.id", ondelete="SET NULL")
    actor: str = Field(max_length=200)
    entity_type: str = Field(max_length=50)
    entity_id: str = Field(max_length=1000)
    action: str = Field(max_length=50)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class CallLog(SQLModel, table=True):
    """One tool call, prompt get or resource read: who, what, outcome and duration. Written in batches."""

    __tablename__ = "call_logs"
    __table_args__ = (Index("ix_call_logs_org_time", "organization_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organizations.id", ondelete="CASCADE")
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # tool | prompt | resource
    name: str = Field(max_length=1000)
    outcome: str = Field(max_length=20)  # ok | error | denied | timeout
    duration_ms: float
    arguments: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
