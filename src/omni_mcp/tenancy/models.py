"""Tables of tenancy: organizations, users, memberships, per-org services, incoming webhook events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import OrgScoped, organization_id_field

ROLES = ("owner", "admin", "member")


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True, index=True)
    name: str = Field(max_length=200)
    audit_arguments: bool = Field(default=False, description="Keep call arguments in the call audit.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True, index=True)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class OrganizationMembership(OrgScoped, SQLModel, table=True):
    __tablename__ = "organization_memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id", name="uq_membership_org_user"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class OrganizationService(OrgScoped, SQLModel, table=True):
    """One MCP server for one organization: enabled or not, and its settings (secrets encrypted)."""

    __tablename__ = "organization_services"
    __table_args__ = (UniqueConstraint("organization_id", "server_id", name="uq_service_org_server"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    server_id: int = Field(foreign_key="mcp_servers.id", index=True, ondelete="CASCADE")
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class WebhookEvent(SQLModel, table=True):
    """An event received from an identity provider (e.g. Clerk), kept once by its id."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_webhook_source_event"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=50)
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
