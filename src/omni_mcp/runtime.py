"""The running state of one process: settings, database, plugins and what they contribute."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from loguru import logger
from sqlalchemy import Engine
from sqlmodel import Session, select

from omni_mcp.__about__ import __version__
from omni_mcp.db.models import McpServer, utcnow
from omni_mcp.gateway.capabilities import CapabilityMap, collect_capabilities
from omni_mcp.gateway.events import ChangeEvents
from omni_mcp.health import Health
from omni_mcp.plugins import PluginHost, PluginInfo
from omni_mcp.settings import Settings

HEALTH_CHECK_TIMEOUT = 5.0


@dataclass
class PluginState:
    info: PluginInfo
    health: Health = field(default_factory=Health)
    withheld: bool = False
    """Its capabilities are not served: it failed to load, register or start."""


class Runtime:
    """Everything a request handler may need, created once per application."""

    def __init__(self, settings: Settings, plugins: PluginHost, engine: Engine) -> None:
        self.settings = settings
        self.plugins = plugins
        self.engine = engine
        self.version = __version__
        self.started_monotonic = time.monotonic()
        self.capabilities = CapabilityMap()
        self.events = ChangeEvents()
        self.states: dict[str, PluginState] = {name: PluginState(info) for name, info in plugins.info.items()}

    async def start(self) -> None:
        """Collect capabilities (a clash raises), start each plugin, withhold the ones that failed."""
        for name, reason in self.plugins.load_errors.items():
            self._withhold(name, reason)
        collected = await collect_capabilities(self.plugins)
        for name, reason in collected.failed.items():
            self._withhold(name, reason)
        async for name, _result, error in self.plugins.call_each("startup", runtime=self):
            if error is not None:
                logger.opt(exception=error).error("plugin {} failed to start", name)
                self._withhold(name, f"startup failed: {type(error).__name__}: {error}")
        withheld = {name for name, state in self.states.items() if state.withheld}
        self.capabilities = collected.capabilities.without(withheld)
        await anyio.to_thread.run_sync(self._record_servers)

    async def stop(self) -> None:
        async for name, _result, error in self.plugins.call_each("shutdown", runtime=self):
            if error is not None:
                logger.opt(exception=error).warning("plugin {} failed to shut down cleanly", name)

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
                row.health_detail = state.health.detail[:2000]
                row.updated_at = utcnow()
                session.add(row)
            session.commit()
