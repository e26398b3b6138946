"""The API key table: only a hash of each key is stored, with its visible prefix to find it by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import OrgScoped, organization_id_field


class ApiKey(OrgScoped, SQLModel, table=True):
    """A service's credential for one organization, with a role, extra permissions and maybe an allow-list."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    prefix: str = Field(max_length=32, unique=True, index=True)
    """The visible start of the key (`omk_` and 8 characters): its public id, in lists and logs."""
    key_hash: str = Field(max_length=64)
    """SHA-256 of the whole key, hex. The key has 256 random bits, so a fast hash is the right one."""
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed_tools: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Tool names the key may list and call. With the three below, the key's allow-list (all None: the key
    reaches whatever its role allows; see omni_mcp.auth.allow_list)."""
    allowed_prompts: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    allowed_resources: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Resource URIs and URI templates."""
    allowed_servers: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Servers (plugins) whose every tool, prompt and resource the key reaches."""
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
