"""The table behind PluginStore."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import OrgScoped, organization_id_field


class PluginRecord(OrgScoped, SQLModel, table=True):
    __tablename__ = "plugin_records"
    __table_args__ = (
        UniqueConstraint("organization_id", "plugin", "collection", "key", name="uq_plugin_record_key"),
        Index("ix_plugin_records_recent", "organization_id", "plugin", "collection", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    plugin: str = Field(max_length=200)
    collection: str = Field(max_length=200)
    key: str = Field(max_length=500)
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
