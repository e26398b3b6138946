"""Tables of prompts and resources: defaults contributed by plugins, and each organization's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import OrgScoped, organization_id_field


class DefaultPrompt(SQLModel, table=True):
    """A prompt template a plugin ships, synced at start-up."""

    __tablename__ = "default_prompts"

    id: int | None = Field(default=None, primary_key=True)
    server_id: int = Field(foreign_key="mcp_servers.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200, unique=True, index=True)
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", sa_type=Text)
    arguments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    template: str = Field(sa_type=Text)
    plugin_version: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class DefaultResource(SQLModel, table=True):
    """A static text resource a plugin ships, synced at start-up."""

    __tablename__ = "default_resources"

    id: int | None = Field(default=None, primary_key=True)
    server_id: int = Field(foreign_key="mcp_servers.id", index=True, ondelete="CASCADE")
    uri: str = Field(max_length=1000, unique=True, index=True)
    name: str = Field(max_length=200)
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", sa_type=Text)
    mime_type: str = Field(default="text/plain", max_length=200)
    text: str = Field(sa_type=Text)
    plugin_version: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class OrganizationPrompt(OrgScoped, SQLModel, table=True):
    """An org's own prompt, an override of a default with the same name, or (hidden) a default it hides."""

    __tablename__ = "organization_prompts"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_org_prompt_name"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    name: str = Field(max_length=200)
    hidden: bool = False
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", sa_type=Text)
    arguments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    template: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class OrganizationResource(OrgScoped, SQLModel, table=True):
    """An org's own text resource, an override of a default at the same URI, or (hidden) a hidden default."""

    __tablename__ = "organization_resources"
    __table_args__ = (UniqueConstraint("organization_id", "uri", name="uq_org_resource_uri"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = organization_id_field()
    uri: str = Field(max_length=1000)
    hidden: bool = False
    name: str = Field(default="", max_length=200)
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", sa_type=Text)
    mime_type: str = Field(default="text/plain", max_length=200)
    text: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
