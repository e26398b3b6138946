"""The pool of upstream connections of this process, keyed by (organization, upstream).

`capabilities_for` is called while an organization's configuration is (re)loaded: it brings the pool in
step with the database (new upstreams get a connection, changed ones a fresh one, removed ones are
closed and their processes stopped) and returns what the upstreams list. When an upstream says its lists
changed, the organization's configuration is invalidated and its clients hear list_changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.from_thread
from anyio.abc import TaskGroup
from loguru import logger
from sqlalchemy import Engine
from sqlmodel import Session

from omni_mcp.federation.connection import UpstreamConnection, UpstreamSpec
from omni_mcp.federation.policy import UpstreamPolicy
from omni_mcp.federation.registry import FederatedCapabilities, federated_capabilities
from omni_mcp.federation.service import UpstreamService
from omni_mcp.security.secrets import SecretBox
from omni_mcp.settings import Settings

Key = tuple[int, str]


class Federation:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        box: SecretBox,
        *,
        on_change: Callable[[str], Awaitable[None]],
        on_resource_updated: Callable[[str, str], Awaitable[None]] | None = None,
        announce: Callable[[Session, str], None] | None = None,
        after_commit: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings.federation
        self.policy = UpstreamPolicy.from_settings(settings)
        self.upstreams = UpstreamService(
            engine, box, self.policy, announce=announce, after_commit=after_commit
        )
        self._on_change = on_change
        self._on_resource_updated = on_resource_updated
        self._connections: dict[Key, UpstreamConnection] = {}
        self._tasks: TaskGroup | None = None

    async def run(self) -> None:
        """Host the connections' supervisors until cancelled; then close every one (stdio processes too)."""
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                await anyio.sleep_forever()
        finally:
            self._tasks = None
            with anyio.CancelScope(shield=True):
                await self.close_all()

    async def close_all(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.mark_closed()  # its supervisor was cancelled with the task group

    def capabilities_for(self, organization_id: int, slug: str) -> FederatedCapabilities:
        """Blocking, from the worker thread that loads an organization's configuration."""
        specs = self.upstreams.specs(organization_id, slug)
        if self._tasks is None and not specs:
            return FederatedCapabilities()
        try:
            return anyio.from_thread.run(self.sync, organization_id, specs)
        except RuntimeError:  # not inside a serving process (a CLI command): nothing is connected here
            return FederatedCapabilities()

    async def sync(self, organization_id: int, specs: list[UpstreamSpec]) -> FederatedCapabilities:
        tasks = self._tasks
        if tasks is None:
            return FederatedCapabilities()
        wanted = {spec.name: spec for spec in specs}
        for key, connection in list(self._connections.items()):
            if key[0] == organization_id and connection.spec != wanted.get(key[1]):
                del self._connections[key]
                tasks.start_soon(connection.close)
        current: list[UpstreamConnection] = []
        for spec in specs:
            key = (organization_id, spec.name)
            existing = self._connections.get(key)
            if existing is not None:
                connection = existing
            else:
                connection = UpstreamConnection(
                    spec,
                    self.policy,
                    connect_timeout=self.settings.connect_timeout,
                    idle_seconds=self.settings.idle_seconds,
                    max_backoff=self.settings.max_backoff_seconds,
                    on_change=self._changed,
                    on_resource_updated=self._resource_updated,
                )
                self._connections[key] = connection
                tasks.start_soon(connection.run, name=f"upstream {spec.slug}/{spec.name}")
            current.append(connection)
        async with anyio.create_task_group() as listing:
            for connection in current:
                listing.start_soon(connection.ensure_listed)
        return federated_capabilities(current)

    async def _changed(self, connection: UpstreamConnection) -> None:
        logger.info("upstream {} of {} changed its lists", connection.name, connection.spec.slug)
        await self._on_change(connection.spec.slug)

    async def _resource_updated(self, connection: UpstreamConnection, uri: str) -> None:
        if self._on_resource_updated is not None:
            await self._on_resource_updated(connection.spec.slug, uri)

    def connection(self, organization_id: int, name: str) -> UpstreamConnection | None:
        return self._connections.get((organization_id, name))

    def health(self) -> list[dict[str, Any]]:
        return [connection.health() for connection in self._connections.values()]
