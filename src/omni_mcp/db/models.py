"""Tables shared by the layers of the core."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class McpServer(SQLModel, table=True):
    """One row per plugin that contributes an MCP server, with its version and last known health."""

    __tablename__ = "mcp_servers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    version: str = Field(max_length=100)
    distribution: str | None = Field(default=None, max_length=200)
    health: str = Field(default="unknown", max_length=20)
    health_detail: str = Field(default="", max_length=2000)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
