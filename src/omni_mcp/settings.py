"""Typed settings: a TOML file, overridden by OMNI_MCP_* environment variables, overridden by flags.

Every key is documented in config.example.toml; `load_settings` is the only way in, so a bad value
always fails with the key's name and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "OMNI_MCP_"
ENV_NESTED_DELIMITER = "__"
CONFIG_ENV_VAR = "OMNI_MCP_CONFIG"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class SettingsError(ValueError):
    """Settings could not be loaded; the message names each bad key and what it allows."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Interface to bind; loopback unless you mean otherwise.")
    port: int = Field(37373, ge=0, le=65535, description="TCP port (0 picks a free one).")


class DatabaseSettings(_Section):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; unset = SQLite in data_dir.",
    )
    data_dir: Path | None = Field(None, description="Where the embedded SQLite file lives.")
    auto_migrate: bool = Field(True, description="Let `serve` create the schema of an empty database.")

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{self.resolved_data_dir() / 'omni-mcp.db'}"

    def resolved_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else Path(user_data_dir("omni-mcp"))


class GatewaySettings(_Section):
    path: str = Field("/mcp", pattern=r"^/[A-Za-z0-9/_-]*$", description="Where the MCP endpoint is mounted.")
    tool_timeout: float = Field(60.0, gt=0, description="Seconds a tool call may take before it fails.")
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest accepted request body.")
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        description="Browser Origins allowed to call the server ('*' as port wildcard).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host headers accepted; empty = loopback names when bound to loopback, any otherwise.",
    )
    session_idle_timeout: float = Field(1800.0, gt=0, description="Seconds before an idle session closes.")
    max_sessions: int = Field(10_000, gt=0, description="Concurrent handshake-era sessions.")
    sse_retry_ms: int = Field(
        2000, gt=0, description="Reconnect delay suggested to clients of handshake-era SSE streams."
    )
    state_secret: SecretStr | None = Field(
        None, description="Key sealing multi-round requestState; set the same one on every process."
    )


class SecuritySettings(_Section):
    encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Fernet keys for secret settings; the first encrypts, all decrypt. Empty: key_file.",
    )
    key_file: Path | None = Field(
        None, description="Key file made on first use (default: data_dir/secret.key)."
    )


class TenancySettings(_Section):
    default_organization: str = Field(
        "default",
        pattern=r"^[a-z0-9][a-z0-9-]{0,99}$",
        description="Organization of unauthenticated local use.",
    )
    servers_enabled_by_default: bool = Field(
        True, description="A server an organization has not configured is enabled for it."
    )


class CacheSettings(_Section):
    ttl_seconds: float = Field(30.0, gt=0, description="Longest a cached org configuration lives.")
    max_organizations: int = Field(10_000, gt=0, description="Org configurations kept in memory (LRU).")
    redis_url: str | None = Field(
        None, description="Redis for cross-process invalidation (redis://host:6379/0)."
    )


class PluginSettings(_Section):
    allow: list[str] | None = Field(None, description="Only load these entry-point plugins (None = all).")
    block: list[str] = Field(default_factory=list, description="Never load these entry-point plugins.")


class LoggingSettings(_Section):
    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    json_logs: bool = Field(False, alias="json", description="One JSON object per line instead of text.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Settings(BaseSettings):
    """The whole configuration of one omni-mcp process."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    tenancy: TenancySettings = Field(default_factory=TenancySettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win, merged key by key: flags > environment > TOML file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def binds_loopback(self) -> bool:
        return self.server.host in LOOPBACK_HOSTS


def load_settings(config_file: Path | str | None = None, **overrides: dict[str, Any]) -> Settings:
    """Load settings from `config_file` (or $OMNI_MCP_CONFIG), the environment and `overrides`.

    `overrides` are dicts by section, e.g. ``server={"port": 8000}``; None values are dropped so
    that CLI flags which were not given do not mask the file or the environment.
    """
    raw_path = config_file or os.environ.get(CONFIG_ENV_VAR)
    path = Path(raw_path) if raw_path else None
    settings_cls: type[Settings] = Settings
    if path is not None:
        _check_toml(path)
        settings_cls = type(
            "FileSettings",
            (Settings,),
            {"model_config": SettingsConfigDict(**{**Settings.model_config, "toml_file": path})},
        )
    flags = {
        section: {k: v for k, v in values.items() if v is not None} for section, values in overrides.items()
    }
    try:
        given: dict[str, Any] = {section: values for section, values in flags.items() if values}
        return settings_cls(**given)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error, source=str(path) if path else None)) from None


def _check_toml(path: Path) -> None:
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from None


def describe_validation_error(error: ValidationError, source: str | None = None) -> str:
    """One line per bad key: dotted name, environment variable, the reason and the value given."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        env = ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in item["loc"]).upper()
        given = item.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"setting '{key}' (env {env}): {item['msg']}{shown}")
    where = f" in {source} or the environment" if source else ""
    return f"invalid settings{where}:\n  " + "\n  ".join(lines)
