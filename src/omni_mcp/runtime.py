"""The running state of one process: settings, database, plugins and what they contribute."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.lowlevel import EventLoopToken
from loguru import logger
from sqlalchemy import Engine
from sqlmodel import Session, select

from omni_mcp.__about__ import __version__
from omni_mcp.audit.calls import CallAuditor
from omni_mcp.capabilities.prompts import Prompt
from omni_mcp.capabilities.resources import Resource, ResourceTemplate
from omni_mcp.config.cache import OrgConfigCache
from omni_mcp.config.defaults import sync_defaults
from omni_mcp.config.effective import OrgConfig, load_org_config
from omni_mcp.config.invalidation import ALL_ORGANIZATIONS, ChangeBroadcast
from omni_mcp.db import migrate
from omni_mcp.db.models import McpServer, utcnow
from omni_mcp.federation.federation import Federation
from omni_mcp.gateway.capabilities import CapabilityMap, Collected, collect_capabilities
from omni_mcp.gateway.events import LIST_KINDS, ChangeEvents
from omni_mcp.health import Health
from omni_mcp.plugins import PluginHost, PluginInfo
from omni_mcp.ratelimit.buckets import Limit
from omni_mcp.ratelimit.limiter import Limits, RateLimiter
from omni_mcp.redaction import redact_secrets
from omni_mcp.security.secrets import SecretBox
from omni_mcp.settings import Settings
from omni_mcp.tenancy.plugin_settings import check_operator_settings
from omni_mcp.tenancy.service import KnownServer, TenancyService

HEALTH_CHECK_TIMEOUT = 5.0


def _rate_limiter(settings: Settings) -> RateLimiter | None:
    limits = settings.rate_limit
    if not limits.enabled:
        return None
    return RateLimiter(
        Limits(
            caller=Limit(limits.per_caller_per_minute, limits.caller_burst),
            organization=Limit(limits.per_organization_per_minute, limits.organization_burst),
            tools={
                name: Limit(rate, max(1, int(rate // 6)))  # a burst of ten seconds' worth
                for name, rate in limits.per_tool_per_minute.items()
            },
        ),
        redis_url=settings.redis.url,
    )


@dataclass
class PluginState:
    info: PluginInfo
    health: Health = field(default_factory=Health)
    withheld: bool = False
    """Its capabilities are not served: it failed to load, register or start."""


class Runtime:
    """Everything a request handler may need, created once per application (or per CLI command)."""

    def __init__(self, settings: Settings, plugins: PluginHost, engine: Engine) -> None:
        self.settings = settings
        self.plugins = plugins
        self.engine = engine
        self.version = __version__
        self.started_monotonic = time.monotonic()
        self.capabilities = CapabilityMap()
        self.events = ChangeEvents()
        self.states: dict[str, PluginState] = {name: PluginState(info) for name, info in plugins.info.items()}
        self.secrets = SecretBox.from_settings(settings)
        self.broadcast = ChangeBroadcast(engine, settings.redis.url)
        self.org_configs = OrgConfigCache(
            self.load_org_config,
            ttl_seconds=settings.cache.ttl_seconds,
            max_organizations=settings.cache.max_organizations,
        )
        self.organization_listeners: list[Callable[[str], None]] = []
        """Called with the slug (or '*') whenever an organization's configuration or API keys change."""
        self.auditor = CallAuditor(
            engine, interval=settings.audit.flush_seconds, batch_size=settings.audit.batch_size
        )
        self.rate_limiter = _rate_limiter(settings)
        self._collected: Collected | None = None
        self._tenancy: TenancyService | None = None
        # Set while start()..stop() serve: committed changes are then announced on that event loop.
        self._serving: tuple[EventLoopToken, int] | None = None
        # Organizations' own MCP servers (upstreams): a pool of sessions, its lists merged per organization.
        self.federation = Federation(
            settings,
            engine,
            self.secrets,
            on_change=self.organization_changed,
            on_resource_updated=lambda slug, uri: self.events.resource_updated(uri, slug),
            announce=self.broadcast.announce,
            after_commit=self.configuration_committed,
        )

    async def prepare(self) -> Collected:
        """Collect what plugins contribute (a clash raises) and set up the configuration service."""
        if self._collected is None:
            collected = await collect_capabilities(
                self.plugins, max_template_chars=self.settings.templates.max_template_chars
            )
            check_operator_settings(
                self.settings.plugins.settings, collected.capabilities.settings_models, self.plugins.info
            )
            self._collected = collected
            self.capabilities = collected.capabilities
        return self._collected

    async def start(self) -> None:
        """Prepare, start plugins (withholding failed ones), sync defaults, create the default org."""
        for name, reason in self.plugins.load_errors.items():
            self._withhold(name, reason)
        self._serving = (anyio.lowlevel.current_token(), threading.get_ident())
        collected = await self.prepare()
        for name, reason in collected.failed.items():
            self._withhold(name, reason)
        async for name, _result, error in self.plugins.call_each("startup", runtime=self):
            if error is not None:
                logger.opt(exception=error).error("plugin {} failed to start", name)
                self._withhold(name, f"startup failed: {type(error).__name__}: {error}")
        withheld = {name for name, state in self.states.items() if state.withheld}
        self.capabilities = collected.capabilities.without(withheld)
        await anyio.to_thread.run_sync(self._write_startup_rows)

    def _write_startup_rows(self) -> None:
        # Processes starting together on one database would insert the same rows (a unique-key violation
        # that stopped one of them): one at a time, under the lock that already serializes migrations.
        with migrate.migration_lock(self.engine):
            self._record_servers()
            self.sync_defaults()
            self.tenancy.ensure_organization(self.settings.tenancy.default_organization, actor="system")

    @property
    def tenancy(self) -> TenancyService:
        """The configuration service; every change to organizations goes through it."""
        if self._tenancy is None:
            if self._collected is None:  # its plugin settings models come from prepare()
                raise RuntimeError("Runtime.tenancy is read before Runtime.prepare(): await prepare() first")
            models = self._collected.capabilities.settings_models
            servers = {
                name: KnownServer(name, info.version, models.get(name))
                for name, info in self.plugins.info.items()
                if info.source != "core"
            }
            self._tenancy = TenancyService(
                self.engine,
                self.secrets,
                servers,
                announce=self.broadcast.announce,
                after_commit=self.configuration_committed,
                servers_enabled_by_default=self.settings.tenancy.servers_enabled_by_default,
                code_prompts=lambda: set(self.capabilities.prompts),
                protected_organization=self.settings.tenancy.default_organization,
                operator_settings=self.settings.plugins.settings,
                max_template_chars=self.settings.templates.max_template_chars,
            )
        return self._tenancy

    async def organization_changed(self, slug: str) -> None:
        """Drop the cached configuration and tell that organization's clients their lists may differ."""
        self.org_configs.invalidate(None if slug == ALL_ORGANIZATIONS else slug)
        for listener in self.organization_listeners:
            listener(slug)
        for kind in LIST_KINDS:
            await self.events.list_changed(kind, None if slug == ALL_ORGANIZATIONS else slug)

    def configuration_committed(self, slug: str) -> None:
        """After a change to `slug` committed: tell other processes, and drop what this one cached."""
        self.broadcast.published(slug)
        if self._serving is None:  # a CLI command: no clients here; other processes hear the broadcast
            self.org_configs.invalidate(None if slug == ALL_ORGANIZATIONS else slug)
            return
        token, loop_thread = self._serving
        if threading.get_ident() == loop_thread:  # on the loop itself: waiting for it would deadlock
            self.org_configs.invalidate(None if slug == ALL_ORGANIZATIONS else slug)
            return
        anyio.from_thread.run(self.organization_changed, slug, token=token)

    def load_org_config(self, slug: str) -> OrgConfig:
        """An organization's effective configuration, read from the database now (the cache calls this)."""
        return load_org_config(
            self.engine,
            slug,
            self.capabilities,
            self.secrets,
            enabled_by_default=self.settings.tenancy.servers_enabled_by_default,
            operator_settings=self.settings.plugins.settings,
            federated=self.federation.capabilities_for,
        )

    def sync_defaults(self) -> None:
        """Write the plugins' default prompts and resources into the database (idempotent)."""
        by_plugin: dict[str, tuple[str, list[Prompt], list[Resource | ResourceTemplate]]] = {}
        for owned_prompt in self.capabilities.prompts.values():
            entry = by_plugin.setdefault(
                owned_prompt.plugin, (self.states[owned_prompt.plugin].info.version, [], [])
            )
            entry[1].append(owned_prompt.item)
        for owned_resource in self.capabilities.resources.values():
            entry = by_plugin.setdefault(
                owned_resource.plugin, (self.states[owned_resource.plugin].info.version, [], [])
            )
            entry[2].append(owned_resource.item)
        sync_defaults(self.engine, by_plugin)

    async def stop(self) -> None:
        # The reverse of startup's order: what started last may depend on what started first.
        async for name, _result, error in self.plugins.call_each("shutdown", reverse=True, runtime=self):
            if error is not None:
                logger.opt(exception=error).warning("plugin {} failed to shut down cleanly", name)
        self._serving = None

    async def check_health(self) -> dict[str, PluginState]:
        """Ask each plugin that is still served for its health, each bounded by a timeout.

        The registry of MCP servers in the database is updated when a plugin's status changes.
        """
        before = {name: state.health.status for name, state in self.states.items()}
        answers = self.plugins.call_each("health_check", time_limit=HEALTH_CHECK_TIMEOUT, runtime=self)
        async for name, result, error in answers:
            state = self.states.get(name)
            if state is None or state.withheld:
                continue
            if isinstance(error, TimeoutError):
                state.health = Health("unhealthy", f"health check took longer than {HEALTH_CHECK_TIMEOUT:g}s")
            elif error is not None:
                state.health = Health("unhealthy", f"health check failed: {type(error).__name__}: {error}")
            else:
                state.health = Health.from_hook(result)
        if any(state.health.status != before.get(name) for name, state in self.states.items()):
            try:
                await anyio.to_thread.run_sync(self._record_servers, abandon_on_cancel=True)
            except Exception as error:  # the database itself may be what is unhealthy
                logger.warning("could not record plugin health: {}", type(error).__name__)
        return self.states

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic

    def _withhold(self, name: str, reason: str) -> None:
        info = self.plugins.info.get(name) or PluginInfo(name, "unknown", "entry point")
        self.states[name] = PluginState(info, Health("unhealthy", reason), withheld=True)

    def _record_servers(self) -> None:
        """Keep the registry of MCP servers (one row per plugin) in step with what this process loaded."""
        with Session(self.engine) as session:
            rows = {row.name: row for row in session.exec(select(McpServer)).all()}
            for name, state in self.states.items():
                if state.info.source == "core":
                    continue
                row = rows.get(name) or McpServer(name=name, version=state.info.version)
                row.version = state.info.version
                row.distribution = state.info.distribution
                row.health = state.health.status
                row.health_detail = redact_secrets(state.health.detail)[:2000]  # shown in lists and the admin
                row.updated_at = utcnow()
                session.add(row)
            session.commit()
