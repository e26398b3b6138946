"""The admin API's request and response shapes; the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SLUG = r"^[a-z0-9][a-z0-9-]{0,99}$"
Role = Literal["owner", "admin", "member"]
CURSOR = r"^\d{1,20}\.\d{1,18}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# requests


class OrganizationCreate(_Body):
    slug: str = Field(pattern=SLUG, description="Lowercase letters, digits and '-'.")
    name: str | None = Field(None, min_length=1, max_length=200)


class OrganizationUpdate(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    audit_arguments: bool | None = Field(None, description="Keep call arguments in the call audit.")


class MemberPut(_Body):
    role: Role
    permissions: list[str] = Field(default_factory=list, max_length=50)


class ServicePut(_Body):
    enabled: bool | None = None
    settings: dict[str, Any] | None = Field(
        None, description="Settings to change (merged, validated by the plugin's model); secrets write-only."
    )


class PromptArgumentSpec(_Body):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    required: bool = False


class PromptPut(_Body):
    template: str = Field(min_length=1, max_length=100_000, description="{argument} placeholders.")
    title: str | None = Field(None, max_length=200)
    description: str = Field("", max_length=2000)
    arguments: list[PromptArgumentSpec] = Field(default_factory=list, max_length=50)


class PromptRender(_Body):
    arguments: dict[str, str] = Field(default_factory=dict)
    template: str | None = Field(
        None, max_length=100_000, description="Render this draft instead of the saved prompt."
    )


class ResourcePut(_Body):
    text: str = Field(max_length=1_000_000)
    name: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=200)
    description: str = Field("", max_length=2000)
    mime_type: str = Field("text/plain", max_length=100)


class ApiKeyCreate(_Body):
    role: Role
    name: str = Field("", max_length=200)
    permissions: list[str] = Field(default_factory=list, max_length=50)
    tools: list[str] | None = Field(None, max_length=500)
    prompts: list[str] | None = Field(None, max_length=500)
    resources: list[str] | None = Field(None, max_length=500, description="URIs or URI templates")
    servers: list[str] | None = Field(None, max_length=100, description="Whole plugins or upstreams")
    expires_in: str | None = Field(None, pattern=r"^\s*\d+\s*[smhdw]\s*$", description="e.g. 90d")


class AuditQuery(_Body):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, pattern=CURSOR, description="`next_cursor` of the previous page.")
    actor: str | None = Field(None, max_length=200)
    entity_type: str | None = Field(None, max_length=50)
    action: str | None = Field(None, max_length=50)
    format: Literal["json", "jsonl", "csv"] = "json"


class CallQuery(_Body):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, pattern=CURSOR)
    actor: str | None = Field(None, max_length=200)
    kind: Literal["tool", "prompt", "resource"] | None = None
    name: str | None = Field(None, max_length=1000)
    outcome: str | None = Field(None, max_length=20)
    format: Literal["json", "jsonl", "csv"] = "json"


class ResourceQuery(_Body):
    uri: str = Field(min_length=1, max_length=2000)


# responses


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    field: str | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class Me(BaseModel):
    id: str
    organization: str
    role: str
    kind: str
    operator: bool


class Organization(BaseModel):
    id: int
    slug: str
    name: str
    audit_arguments: bool


class OrganizationList(BaseModel):
    items: list[Organization]


class Member(BaseModel):
    user: str
    role: str
    permissions: list[str]


class MemberList(BaseModel):
    items: list[Member]


class Service(BaseModel):
    server: str
    enabled: bool
    settings: dict[str, Any] = Field(description="Secrets appear as ******** (set), never their value.")
    settings_schema: dict[str, Any] | None = None


class ServiceList(BaseModel):
    items: list[Service]


class PromptEntry(BaseModel):
    name: str
    source: Literal["default", "override", "organization", "hidden"]
    server: str | None
    title: str | None = None
    description: str = ""
    arguments: list[dict[str, Any]] = Field(default_factory=list)
    template: str | None = None
    default_template: str | None = None


class PromptList(BaseModel):
    items: list[PromptEntry]


class Message(BaseModel):
    role: str
    text: str


class RenderResult(BaseModel):
    messages: list[Message]
    default_messages: list[Message] | None = None
    diff: str = Field("", description="Unified diff of the default's rendering against this one.")


class ResourceEntry(BaseModel):
    uri: str
    source: Literal["default", "override", "organization", "hidden", "dynamic"]
    server: str | None
    name: str = ""
    title: str | None = None
    description: str = ""
    mime_type: str | None = None
    text: str | None = None


class ResourceList(BaseModel):
    items: list[ResourceEntry]


class ApiKey(BaseModel):
    id: str
    organization: str
    name: str
    role: str
    permissions: list[str]
    tools: list[str] | None
    prompts: list[str] | None
    resources: list[str] | None
    servers: list[str] | None
    status: str
    created_by: str
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class ApiKeyList(BaseModel):
    items: list[ApiKey]


class CreatedApiKey(BaseModel):
    key: str = Field(description="The key itself, shown this once only.")
    api_key: ApiKey
    warnings: list[str] = Field(description="Names in the allow-list that nothing installed serves (yet).")


class AuditEntry(BaseModel):
    id: int
    created_at: str
    actor: str
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


class CallEntry(BaseModel):
    id: int
    created_at: str
    actor: str
    kind: str
    name: str
    outcome: str
    duration_ms: float
    arguments: dict[str, Any] | None


class CallPage(BaseModel):
    items: list[CallEntry]
    next_cursor: str | None


class PluginHealth(BaseModel):
    name: str
    version: str
    source: str
    status: str
    detail: str
    serving: bool


class PluginList(BaseModel):
    items: list[PluginHealth]


class Tool(BaseModel):
    name: str
    title: str | None = None
    description: str | None = None
    server: str


class ToolList(BaseModel):
    items: list[Tool]


class Deleted(BaseModel):
    deleted: str
