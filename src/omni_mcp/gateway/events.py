"""Tell connected clients that lists or resources changed, in whichever era they speak, per organization.

2026-07-28 clients listen on `subscriptions/listen` streams (one subscription bus per organization);
handshake-era clients get notifications on their session's standalone stream. A handshake client is known
by its session id and forgotten when its session ends (`forget`, called by the session guard), so an
ended session leaves nothing behind here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from loguru import logger
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from mcp.types import SubscriptionsListenRequestParams, SubscriptionsListenResult

ListKind = Literal["tools", "prompts", "resources"]
LIST_KINDS: tuple[ListKind, ...] = ("tools", "prompts", "resources")
_EVENTS: dict[ListKind, ServerEvent] = {
    "tools": ToolsListChanged(),
    "prompts": PromptsListChanged(),
    "resources": ResourcesListChanged(),
}


@dataclass
class _Client:
    session: ServerSession
    organization: str
    uris: set[str] = field(default_factory=set)


class ChangeEvents:
    """What plugins and the configuration layer call when something clients may have cached changed."""

    def __init__(self) -> None:
        # Keyed by session id: a ServerSession of one of its requests can still notify on its stream.
        self._clients: dict[str, _Client] = {}
        self._listeners: dict[str, ListenHandler] = {}
        self._buses: dict[str, InMemorySubscriptionBus] = {}

    # handshake era

    def seen(self, session_id: str, session: ServerSession, organization: str) -> None:
        client = self._clients.get(session_id)
        if client is None or client.organization != organization:
            self._clients[session_id] = _Client(session, organization)

    def subscribe(self, session_id: str, session: ServerSession, organization: str, uri: str) -> None:
        self.seen(session_id, session, organization)
        self._clients[session_id].uris.add(uri)

    def unsubscribe(self, session_id: str, uri: str) -> None:
        client = self._clients.get(session_id)
        if client is not None:
            client.uris.discard(uri)

    def forget(self, session_id: str) -> None:
        """The session ended: nothing more goes to it."""
        self._clients.pop(session_id, None)

    @property
    def handshake_clients(self) -> int:
        return len(self._clients)

    # 2026-07-28

    async def listen(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams, organization: str
    ) -> SubscriptionsListenResult:
        handler = self._listeners.get(organization)
        if handler is None:
            bus = self._buses[organization] = InMemorySubscriptionBus()
            handler = self._listeners[organization] = ListenHandler(bus)
        return await handler(ctx, params)

    # announcing

    async def list_changed(self, kind: ListKind, organization: str | None = None) -> None:
        """Tell the clients of `organization` (None: of every organization) that a list changed."""
        for slug, bus in list(self._buses.items()):
            if organization is None or slug == organization:
                await bus.publish(_EVENTS[kind])
        for key, client in list(self._clients.items()):
            if organization is None or client.organization == organization:
                await self._send(key, client, kind)

    async def resource_updated(self, uri: str, organization: str | None = None) -> None:
        for slug, bus in list(self._buses.items()):
            if organization is None or slug == organization:
                await bus.publish(ResourceUpdated(uri=uri))
        for key, client in list(self._clients.items()):
            if uri in client.uris and (organization is None or client.organization == organization):
                await self._send(key, client, "updated", uri)

    async def _send(self, key: str, client: _Client, kind: str, uri: str = "") -> None:
        session = client.session
        try:
            if kind == "tools":
                await session.send_tool_list_changed()
            elif kind == "prompts":
                await session.send_prompt_list_changed()
            elif kind == "resources":
                await session.send_resource_list_changed()
            else:
                await session.send_resource_updated(uri)
        except Exception as error:  # the client went away; it refetches when it reconnects
            logger.debug("forgetting a handshake client: {}", error)
            self._clients.pop(key, None)
