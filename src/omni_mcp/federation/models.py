"""The upstreams table: one row per MCP server an organization federates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import OrgScoped, organization_id_field

KINDS = ("http", "stdio")


class Upstream(OrgScoped, SQLModel, table=True):
    """An organization's own MCP server. Header and environment values are stored encrypted."""

    __tablename__ = "upstreams"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_upstream_org_name"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    name: str = Field(max_length=40)
    kind: str = Field(max_length=10)
    url: str | None = Field(default=None, max_length=2000)
    command: str | None = Field(default=None, max_length=1000)
    args: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    env: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
