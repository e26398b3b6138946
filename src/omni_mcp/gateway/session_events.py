"""Resumable handshake-era streams: each session replays its own missed events, never another's.

The SDK's `EventStore` is one object shared by every session, and stream ids repeat across sessions, so a
plain shared store would replay one session's events to another that names its event id. The SDK's
session manager reads its public `event_store` attribute once per new session; here that attribute is a
property returning a fresh store for each session, whose event ids carry a random per-session prefix.
A `Last-Event-ID` from elsewhere matches nothing and replays nothing.

Each store keeps at most `max_events` events, none older than `max_age` seconds. It lives as long as its
session's transport does, so it goes when the session ends.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import JSONRPCMessage

from omni_mcp.settings import SessionSettings

SEPARATOR = "_"


@dataclass(frozen=True)
class _Event:
    number: int
    stream_id: StreamId
    message: JSONRPCMessage | None  # None: the priming event at a stream's start
    stored_at: float


class SessionEventStore(EventStore):
    """The events of one session, bounded in number and age."""

    def __init__(self, max_events: int, max_age: float) -> None:
        self.prefix = secrets.token_hex(8)
        self.max_age = max_age
        self.events: deque[_Event] = deque(maxlen=max_events)
        self.numbers = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        now = time.monotonic()
        while self.events and self.events[0].stored_at < now - self.max_age:
            self.events.popleft()  # a busy session does not keep old results until it ends
        event = _Event(next(self.numbers), stream_id, message, now)
        self.events.append(event)
        return f"{self.prefix}{SEPARATOR}{event.number}"

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        prefix, _, number = last_event_id.rpartition(SEPARATOR)
        if prefix != self.prefix or not number.isdigit():
            return None  # another session's event (or a made-up id): nothing of ours to replay
        oldest = time.monotonic() - self.max_age
        last = next((event for event in self.events if event.number == int(number)), None)
        if last is None or last.stored_at < oldest:
            return None  # too old: forgotten
        for event in self.events:
            if event.number > last.number and event.stream_id == last.stream_id and event.message is not None:
                await send_callback(EventMessage(event.message, f"{self.prefix}{SEPARATOR}{event.number}"))
        return last.stream_id


class PerSessionEventStores(StreamableHTTPSessionManager):
    """The SDK's session manager, giving each new session its own `SessionEventStore`."""

    def __init__(self, *args: Any, max_events: int, max_age: float, **kwargs: Any) -> None:
        self.max_events = max_events
        self.max_age = max_age
        super().__init__(*args, **kwargs)

    @property
    def event_store(self) -> EventStore | None:
        return SessionEventStore(self.max_events, self.max_age)

    @event_store.setter
    def event_store(self, value: EventStore | None) -> None:
        if value is not None:
            raise ValueError("stores are made per session here; pass no event_store")


def make_session_manager(sessions: SessionSettings, **sdk_options: Any) -> StreamableHTTPSessionManager:
    """The SDK's session manager with resumable streams, unless `sessions.replay_events` is 0."""
    if sessions.replay_events == 0:
        return StreamableHTTPSessionManager(**sdk_options)
    return PerSessionEventStores(
        max_events=sessions.replay_events, max_age=sessions.replay_seconds, **sdk_options
    )
