"""Per-organization settings of the Linear plugin: each organization brings its own credential."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_BASE_URL = "https://api.linear.app/graphql"
_LOOPBACK_NAMES = {"localhost"}


class LinearSettings(BaseModel):
    """What an admin sets with `omni-mcp service set ORG linear KEY=VALUE ...`."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = Field(
        None,
        description="Personal API key (lin_api_...), sent as is in the Authorization header.",
    )
    oauth_token: SecretStr | None = Field(
        None,
        description="OAuth access token, sent as 'Bearer <token>'; set this or api_key, not both.",
    )
    default_team: str | None = Field(
        None,
        description="Team (key such as ENG, name or id) for tools that are given no team, e.g. create_issue.",
    )
    base_url: str = Field(
        DEFAULT_BASE_URL,
        description="GraphQL endpoint; https, or http on loopback only (so a key never crosses a network "
        "in clear text). The operator's alone ([plugins.settings.linear]): an organization's key is sent "
        "there, so no organization may point it elsewhere.",
        json_schema_extra={"operator_only": True},
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="Timeout of one HTTP request to Linear.")
    max_retries: int = Field(
        3, ge=0, le=10, description="Retries of a rate-limited (429/RATELIMITED) or failed (5xx) request."
    )
    retry_backoff_seconds: float = Field(
        0.5, ge=0, le=60, description="First wait between retries when Linear gives none; doubles each retry."
    )
    max_retry_wait_seconds: float = Field(
        10.0, ge=0, le=300, description="Longest single wait before a retry, even if retry-after asks more."
    )

    @field_validator("base_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.linear.app/graphql")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("plain http is only allowed to a loopback host; use https")
        return value

    @field_validator("default_team")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _one_credential(self) -> LinearSettings:
        if self.api_key is not None and self.oauth_token is not None:
            raise ValueError("set either api_key or oauth_token, not both (set the other to null)")
        return self


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
