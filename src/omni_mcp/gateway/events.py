"""Tell connected clients that lists or resources changed, in whichever era they speak.

2026-07-28 clients listen on `subscriptions/listen` streams fed by the subscription bus; handshake-era
clients get notifications on their session's standalone stream.
"""

from __future__ import annotations

from typing import Literal

from loguru import logger
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    SubscriptionBus,
    ToolsListChanged,
)

ListKind = Literal["tools", "prompts", "resources"]
_EVENTS: dict[ListKind, ServerEvent] = {
    "tools": ToolsListChanged(),
    "prompts": PromptsListChanged(),
    "resources": ResourcesListChanged(),
}


class HandshakeClients:
    """The handshake-era connections we have heard from, and the resource URIs each subscribed to."""

    def __init__(self) -> None:
        # Keyed by the connection behind the per-request ServerSession: it lives as long as the client.
        self._sessions: dict[int, ServerSession] = {}
        self._subscriptions: dict[int, set[str]] = {}

    def seen(self, session: ServerSession) -> None:
        self._sessions[_key(session)] = session

    def subscribe(self, session: ServerSession, uri: str) -> None:
        self.seen(session)
        self._subscriptions.setdefault(_key(session), set()).add(uri)

    def unsubscribe(self, session: ServerSession, uri: str) -> None:
        uris = self._subscriptions.get(_key(session))
        if uris is not None:
            uris.discard(uri)

    def subscribers(self, uri: str) -> list[int]:
        return [key for key, uris in self._subscriptions.items() if uri in uris]

    def all(self) -> list[int]:
        return list(self._sessions)

    def session(self, key: int) -> ServerSession | None:
        return self._sessions.get(key)

    def forget(self, key: int) -> None:
        self._sessions.pop(key, None)
        self._subscriptions.pop(key, None)


class ChangeEvents:
    """What plugins (and the configuration layer) call when something clients may have cached changed."""

    def __init__(self, bus: SubscriptionBus | None = None) -> None:
        self.bus: SubscriptionBus = bus or InMemorySubscriptionBus()
        self.handshake_clients = HandshakeClients()

    async def list_changed(self, kind: ListKind) -> None:
        await self.bus.publish(_EVENTS[kind])
        for key in self.handshake_clients.all():
            await self._send(key, kind)

    async def resource_updated(self, uri: str) -> None:
        await self.bus.publish(ResourceUpdated(uri=uri))
        for key in self.handshake_clients.subscribers(uri):
            await self._send(key, "updated", uri)

    async def _send(self, key: int, kind: str, uri: str = "") -> None:
        session = self.handshake_clients.session(key)
        if session is None:
            return
        try:
            if kind == "tools":
                await session.send_tool_list_changed()
            elif kind == "prompts":
                await session.send_prompt_list_changed()
            elif kind == "resources":
                await session.send_resource_list_changed()
            else:
                await session.send_resource_updated(uri)
        except Exception as error:  # the client went away; it will refetch when it reconnects
            logger.debug("forgetting a handshake client: {}", error)
            self.handshake_clients.forget(key)


def _key(session: ServerSession) -> int:
    return id(session._connection)
