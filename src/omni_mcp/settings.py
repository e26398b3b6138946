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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
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
SECRET_SETTINGS = ("security.encryption_keys", "gateway.state_secret")  # never echoed in errors


class SettingsError(ValueError):
    """Settings could not be loaded; the message names each bad key and what it allows."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Interface to bind; loopback unless you mean otherwise.")
    port: int = Field(37373, ge=0, le=65535, description="TCP port (0 picks a free one).")
    freeze_gc: bool = Field(
        True,
        description="After start-up, exempt what start-up built from garbage collection (cuts GC pauses).",
    )


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
    request_state_ttl: float = Field(
        900.0,
        gt=0,
        description="Seconds a multi-round requestState stays valid for the caller it was issued to.",
    )
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
    state_secret: SecretStr | None = Field(
        None, description="Key sealing multi-round requestState; set the same one on every process."
    )


class SessionSettings(_Section):
    """Caps on handshake-era sessions and their GET streams, so no caller or organization takes them all."""

    max_per_caller: int = Field(100, gt=0, description="Open sessions one caller (key, user) may hold.")
    max_per_organization: int = Field(1000, gt=0, description="Open sessions one organization may hold.")
    max_streams_per_caller: int = Field(100, gt=0, description="Open GET streams of one caller.")
    max_streams_per_organization: int = Field(1000, gt=0, description="Open GET streams of one organization.")
    replay_events: int = Field(
        0, ge=0, description="Events a session keeps for a stream resumed with Last-Event-ID (0: none)."
    )
    replay_seconds: float = Field(300.0, gt=0, description="How long a session keeps an event for replay.")


class SecuritySettings(_Section):
    encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Fernet keys for secret settings; the first encrypts, all decrypt. Empty: key_file.",
    )
    key_file: Path | None = Field(
        None, description="Key file made on first use (default: data_dir/secret.key)."
    )

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        import base64
        import binascii

        for index, key in enumerate(value):
            try:
                valid = len(base64.urlsafe_b64decode(key.get_secret_value().encode())) == 32
            except (binascii.Error, ValueError):
                valid = False
            if not valid:  # the message never repeats the value: it is a secret
                raise ValueError(
                    f"key {index + 1} is not a Fernet key (32 bytes, url-safe base64); "
                    "print a new one with `omni-mcp keys generate`"
                )
        return value


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


class RedisSettings(_Section):
    url: str | None = Field(
        None,
        description="Redis shared by processes: cache invalidation and rate limits (redis://host:6379/0).",
    )


class RateLimitSettings(_Section):
    enabled: bool = Field(True, description="Refuse callers over their limits with HTTP 429.")
    per_caller_per_minute: float = Field(600, gt=0, description="Requests per minute of one user or API key.")
    caller_burst: int = Field(100, gt=0, description="Requests a caller may send at once.")
    per_organization_per_minute: float = Field(
        6000, gt=0, description="Requests per minute of one organization."
    )
    organization_burst: int = Field(1000, gt=0, description="Requests an organization may send at once.")
    per_tool_per_minute: dict[str, float] = Field(
        default_factory=dict, description="Calls per minute of one caller to a tool, by tool name."
    )
    failed_auth_per_minute: float = Field(
        30,
        ge=0,
        description="Refused credentials one client address may present per minute; past that (and the "
        "burst) it gets 429 before any credential lookup. 0 = no limit.",
    )
    failed_auth_burst: int = Field(
        20, gt=0, description="Refused credentials an address may present at once."
    )


class CorsSettings(_Section):
    allow_origins: list[str] = Field(
        default_factory=list, description="Origins allowed cross-origin access; empty turns CORS off."
    )
    max_age: int = Field(600, ge=0, description="Seconds a browser may cache a preflight answer.")


class AuditSettings(_Section):
    flush_seconds: float = Field(0.5, gt=0, description="How often queued call records are written.")
    batch_size: int = Field(500, gt=0, description="Most call records written in one statement.")


class TemplateSettings(_Section):
    max_template_chars: int = Field(
        100_000, gt=0, description="Longest prompt template a plugin or an organization may define."
    )
    max_rendered_chars: int = Field(
        1_000_000, gt=0, description="Longest text a template prompt may render (arguments included)."
    )


class MetricsSettings(_Section):
    enabled: bool = Field(False, description="Serve Prometheus metrics (needs `token` or `port`).")
    token: SecretStr | None = Field(
        None, description="Bearer token a scraper must send to GET /metrics on the main port."
    )
    port: int | None = Field(
        None, ge=0, le=65535, description="Serve /metrics on this separate port instead (on metrics.host)."
    )
    host: str = Field("127.0.0.1", description="Interface of the separate metrics port.")
    organization_label: bool = Field(
        False, description="Label call metrics with the organization (one series per organization)."
    )

    @model_validator(mode="after")
    def _never_open_to_the_world(self) -> MetricsSettings:
        if self.enabled and self.token is None and self.port is None:
            raise ValueError("metrics.enabled needs metrics.token or a separate metrics.port")
        return self


class TracingSettings(_Section):
    enabled: bool = Field(
        False,
        description="Export OpenTelemetry traces over OTLP (install omni-mcp[otel]; configure with OTEL_*).",
    )


class PluginSettings(_Section):
    allow: list[str] | None = Field(None, description="Only load these entry-point plugins (None = all).")
    block: list[str] = Field(default_factory=list, description="Never load these entry-point plugins.")
    worker_threads: int = Field(
        16, gt=0, description="Threads running plugins' synchronous code (a blocking call waits for one)."
    )
    stall_warning_seconds: float = Field(
        1.0, gt=0, description="Log plugin code that keeps the event loop busy this long without yielding."
    )
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Operator values of plugins' settings, by plugin: they apply to every organization, "
        "which cannot change them (and the only way to set a field a plugin marks operator_only).",
    )


# Signature algorithms a token may use: asymmetric only, so no key of ours can be abused as an HMAC secret.
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


def check_http_url(url: str, what: str) -> str:
    """An absolute https URL, or http on a loopback host (a local issuer while developing)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"{what} must use https (plain http only on 127.0.0.1, localhost or ::1)")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not have a query or fragment")
    return url


Role = Literal["owner", "admin", "member"]


class AuthSettings(_Section):
    local_mode: bool | None = Field(
        None,
        description="Requests without credentials act as the local owner; unset = on when bound to loopback.",
    )
    issuers: list[str] = Field(
        default_factory=list, description="OIDC issuers whose JWT bearer tokens are accepted."
    )
    resource: str | None = Field(
        None, description="This gateway's public MCP URL (RFC 8707 resource, the tokens' audience)."
    )
    audiences: list[str] = Field(
        default_factory=list, description="Accepted token audiences; empty = [resource]."
    )
    algorithms: list[str] = Field(
        default_factory=lambda: list(ASYMMETRIC_ALGORITHMS),
        description="Signature algorithms accepted in tokens (asymmetric only).",
    )
    leeway_seconds: int = Field(30, ge=0, le=300, description="Clock skew allowed on exp, nbf and iat.")
    jwks_cache_seconds: float = Field(3600.0, gt=0, description="How long fetched signing keys are used.")
    jwks_refresh_min_interval: float = Field(
        60.0, ge=0, description="Fewest seconds between two fetches of an issuer's keys."
    )
    token_cache_seconds: float = Field(
        300.0,
        ge=0,
        description="How long a token whose signature was verified is not verified again (claims still are); "
        "0 = verify every time.",
    )
    http_timeout: float = Field(5.0, gt=0, description="Seconds to wait for an issuer's metadata or keys.")
    claim_subject: str = Field("sub", min_length=1, description="Claim naming the user.")
    claim_organization: str = Field(
        "org_id", min_length=1, description="Claim naming the organization (dots reach into objects)."
    )
    claim_role: str = Field("org_role", min_length=1, description="Claim holding the role.")
    claim_permissions: str = Field(
        "permissions", min_length=1, description="Claim holding extra permissions (list or space-separated)."
    )
    role_map: dict[str, Role] = Field(
        default_factory=lambda: dict[str, Role]({"org:admin": "admin", "org:member": "member"}),
        description="Role claim values mapped to roles; owner, admin and member map to themselves.",
    )
    default_role: Role = Field(
        "member", description="Role of a token whose role claim is missing or unknown."
    )
    missing_organization: Literal["reject", "default"] = Field(
        "reject", description="A valid token naming no organization: refuse it, or use the default one."
    )
    unknown_organization: Literal["reject", "create"] = Field(
        "reject", description="A valid token naming an organization not known here: refuse, or create it."
    )
    api_key_cache_seconds: float = Field(
        30.0, ge=0, description="How long a verified API key is trusted without asking the database."
    )
    last_used_flush_seconds: float = Field(
        60.0, gt=0, description="How often API keys' last_used_at is written (batched)."
    )
    public_paths: list[str] = Field(
        default_factory=list, description="Extra path prefixes served without credentials (webhooks)."
    )

    @field_validator("issuers")
    @classmethod
    def _issuers_are_urls(cls, value: list[str]) -> list[str]:
        # Kept exactly as given: a token's `iss` must equal it (some providers end it with '/').
        return [check_http_url(url, "an issuer") for url in value]

    @field_validator("resource")
    @classmethod
    def _resource_is_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value, "the resource")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused:
            allowed = ", ".join(ASYMMETRIC_ALGORITHMS)
            raise ValueError(f"algorithm {refused[0]!r} is not allowed; use asymmetric ones: {allowed}")
        if not value:
            raise ValueError("at least one algorithm is needed")
        return value

    @model_validator(mode="after")
    def _tokens_need_an_audience(self) -> AuthSettings:
        if self.issuers and not (self.resource or self.audiences):
            raise ValueError(
                "auth.issuers needs auth.resource (this gateway's public MCP URL, e.g. "
                "https://mcp.example.com/mcp) or auth.audiences: tokens are checked to be meant for us"
            )
        return self

    @property
    def accepted_audiences(self) -> list[str]:
        return list(self.audiences) or ([self.resource] if self.resource else [])

    @field_validator("public_paths")
    @classmethod
    def _paths_are_absolute(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.startswith("/") or path == "/":
                raise ValueError(f"public path {path!r} must start with '/' and not be the root")
        return value


class AdminSettings(_Section):
    """The admin REST API (/api/v1), web UI (/admin) and identity-provider webhooks (/webhooks/clerk)."""

    enabled: bool = Field(True, description="Serve the admin API, UI and webhooks.")
    operators: list[str] = Field(
        default_factory=list,
        description="Caller ids with the operator role (manage every organization): a token's subject "
        "(e.g. user_2abc) or apikey:<key id>. The local user of local mode is always an operator.",
    )
    oidc_client_id: str | None = Field(
        None, description="OAuth client id of the admin UI at the first auth.issuers issuer (PKCE sign-in)."
    )
    oidc_client_secret: SecretStr | None = Field(
        None, description="Its client secret, if the issuer requires one (a public PKCE client needs none)."
    )
    oidc_scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"], description="Scopes asked at sign-in."
    )
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description="How long a UI sign-in lasts.")
    clerk_webhook_secret: SecretStr | None = Field(
        None, description="Clerk's webhook signing secret (whsec_...); unset = /webhooks/clerk refuses all."
    )


class LoggingSettings(_Section):
    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    json_logs: bool = Field(False, alias="json", description="One JSON object per line instead of text.")
    log_payloads: bool = Field(
        False,
        description="At DEBUG, also log whole MCP messages (arguments, results): may hold personal data.",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FederationSettings(_Section):
    """Organizations' own MCP servers (upstreams) and what the operator lets them reach."""

    allowed_kinds: list[Literal["http", "stdio"]] | None = Field(
        None,
        description="Upstream kinds organizations may add; None: http, plus stdio in local mode only.",
    )
    stdio_commands: list[str] = Field(
        default_factory=list,
        description="Commands a stdio upstream may run (names or paths); empty: any, in local mode only.",
    )
    allow_private_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts or networks (CIDR) an http upstream may reach although loopback/private.",
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect to an upstream and list it.")
    idle_seconds: float = Field(300.0, gt=0, description="A stdio upstream unused this long is stopped.")
    max_backoff_seconds: float = Field(30.0, gt=0, description="Longest wait before reconnecting.")


class TasksSettings(_Section):
    """Durable tasks (the MCP tasks extension): how long results are kept and how often clients poll."""

    default_ttl: float = Field(3600.0, gt=0, description="Seconds a task and its result are kept by default.")
    max_ttl: float = Field(86400.0, gt=0, description="The longest ttl a client may ask for, in seconds.")
    poll_interval: float = Field(1.0, gt=0, description="Seconds between polls suggested to clients.")
    lease: float = Field(
        30.0, gt=0, description="Seconds without a heartbeat after which a running task counts as failed."
    )


class Settings(BaseSettings):
    """The whole configuration of one omni-mcp process."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    tenancy: TenancySettings = Field(default_factory=TenancySettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    federation: FederationSettings = Field(default_factory=FederationSettings)
    tasks: TasksSettings = Field(default_factory=TasksSettings)

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
    from omni_mcp.settings_suggest import stray_environment_variables

    stray = stray_environment_variables(os.environ, Settings, ENV_PREFIX)
    if stray:
        raise SettingsError("invalid settings in the environment:\n  " + "\n  ".join(stray))
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
    from omni_mcp.settings_suggest import did_you_mean

    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        env = ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in item["loc"]).upper()
        given = item.get("input")
        hidden = isinstance(given, dict) or key.startswith(SECRET_SETTINGS)
        shown = "" if hidden else f" (got {given!r})"
        hint = did_you_mean(Settings, item["loc"]) if item["type"] == "extra_forbidden" else ""
        lines.append(f"setting '{key}' (env {env}): {item['msg']}{shown}{hint}")
    where = f" in {source} or the environment" if source else ""
    return f"invalid settings{where}:\n  " + "\n  ".join(lines)
