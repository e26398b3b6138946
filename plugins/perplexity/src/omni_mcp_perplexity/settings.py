"""Per-organization settings of the Perplexity plugin (set with `omni-mcp service set ORG perplexity ...`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

ChatModel = Literal["sonar", "sonar-pro", "sonar-reasoning", "sonar-reasoning-pro"]
"""Models answering in one response; sonar-deep-research is only used (streamed) by the research tool."""

DEFAULT_BASE_URL = "https://api.perplexity.ai"


class PerplexitySettings(BaseModel):
    """All optional, so an organization may set the base URL before the key; tools name what is missing."""

    api_key: SecretStr | None = Field(
        None, description="Perplexity API key (pplx-...). Encrypted at rest, never shown."
    )
    default_model: ChatModel = Field(
        "sonar-pro", description="Model for ask, compare and summarize when the call names none."
    )
    base_url: str = Field(
        DEFAULT_BASE_URL,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="API root, for a proxy or a test server. The operator's alone ([plugins.settings."
        "perplexity]): an organization's key is sent there, so no organization may point it elsewhere.",
        json_schema_extra={"operator_only": True},
    )
    timeout: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Seconds a search or a non-research answer may take, retries included.",
    )
    research_timeout: float = Field(
        1800.0, gt=0, le=7200, description="Seconds deep research may stream before it is stopped."
    )
    max_retries: int = Field(2, ge=0, le=10, description="Retries after HTTP 429/5xx or a failed connection.")
    retry_backoff: float = Field(
        1.0, ge=0, le=60, description="Seconds before the first retry; doubles for each further one."
    )
    max_retry_wait: float = Field(
        30.0, ge=0, le=600, description="Longest single wait between attempts, also capping Retry-After."
    )

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
