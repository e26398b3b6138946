"""Handshake-era sessions: who owns each one, how many a caller and an organization may hold, and their end.

The SDK's session manager keeps a session until the client DELETEs it or it idles out, and tells no one
when it ends. This guard stands in front of it and sees each session begin (a POST without a session id
answered with `Mcp-Session-Id`) and end: a DELETE, the SDK answering 404 for it, or the guard's own idle
reaper closing it with an internal DELETE. When a session ends, what the gateway kept for it goes too
(`on_end`: the change-notification registry forgets the client).

A session belongs to the caller who opened it: a request naming the session id of another caller (or one
we never saw opened) gets 404, as an unknown session would, so a leaked session id is worth nothing
without its owner's credential. Ownership is an exact map of live sessions, never an LRU: no amount of
churn by one organization can evict another's live session.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import anyio
from loguru import logger
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.security.errors import send_error
from omni_mcp.settings import Settings

SESSION_HEADER = b"mcp-session-id"
PROTOCOL_VERSION_HEADER = b"mcp-protocol-version"
TOO_MANY = 429
Owner = tuple[str, str, str]  # actor kind, actor id, organization
Scarce = Literal["sessions", "streams"]
K = TypeVar("K")


@dataclass(frozen=True)
class SessionLimits:
    per_caller: int
    per_organization: int
    streams_per_caller: int
    streams_per_organization: int
    idle_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionLimits:
        sessions = settings.sessions
        return cls(
            per_caller=sessions.max_per_caller,
            per_organization=sessions.max_per_organization,
            streams_per_caller=sessions.max_streams_per_caller,
            streams_per_organization=sessions.max_streams_per_organization,
            idle_timeout=settings.gateway.session_idle_timeout,
        )


@dataclass
class _Session:
    owner: Owner
    in_flight: int = 0  # requests being served, open GET streams included: the session is not idle
    idle_since: float = field(default_factory=time.monotonic)


class _Tally:
    """Open sessions (or streams) per caller and per organization, with their caps."""

    def __init__(self, what: Scarce, per_caller: int, per_organization: int) -> None:
        self.what = what
        self.per_caller = per_caller
        self.per_organization = per_organization
        self.callers: Counter[Owner] = Counter()
        self.organizations: Counter[str] = Counter()

    def refusal(self, owner: Owner) -> str | None:
        if self.callers[owner] >= self.per_caller:
            return f"Too many open {self.what} for this caller (at most {self.per_caller})"
        if self.organizations[owner[2]] >= self.per_organization:
            return f"Too many open {self.what} for this organization (at most {self.per_organization})"
        return None

    def add(self, owner: Owner) -> None:
        self.callers[owner] += 1
        self.organizations[owner[2]] += 1

    def remove(self, owner: Owner) -> None:
        _decrement(self.callers, owner)
        _decrement(self.organizations, owner[2])


class SessionGuard:
    """ASGI app in front of the SDK's session manager (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, limits: SessionLimits, mcp_path: str, on_end: Callable[[str], None]
    ) -> None:
        self.app = app
        self.limits = limits
        self.mcp_path = mcp_path
        self.on_end = on_end
        self.sessions: dict[str, _Session] = {}
        self.open_sessions = _Tally("sessions", limits.per_caller, limits.per_organization)
        self.open_streams = _Tally("streams", limits.streams_per_caller, limits.streams_per_organization)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        actor = actor_in(scope)
        if actor is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner: Owner = (actor.kind, actor.id, actor.organization)
        session_id = _header(scope, SESSION_HEADER)
        if session_id is not None:
            await self._in_session(owner, session_id, scope, receive, send)
        elif scope["method"] == "POST" and _handshake_era(scope):
            await self._opening(owner, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _opening(self, owner: Owner, scope: Scope, receive: Receive, send: Send) -> None:
        """A POST that may open a session (an `initialize`): counted from now, so concurrent ones cannot
        slip past the cap together."""
        refusal = self.open_sessions.refusal(owner)
        if refusal is not None:
            logger.info("new session refused: {}", refusal)
            await send_error(scope, receive, send, TOO_MANY, refusal + ": end one with DELETE", self.mcp_path)
            return
        self.open_sessions.add(owner)
        opened: _Session | None = None

        async def note_session(message: Message) -> None:
            nonlocal opened
            if message["type"] == "http.response.start" and message["status"] < 400:
                session_id = _header(message, SESSION_HEADER)
                if session_id is not None:  # registered before the client can learn the id
                    opened = self.sessions[session_id] = _Session(owner, in_flight=1)
            await send(message)

        try:
            await self.app(scope, receive, note_session)
        finally:
            if opened is None:
                self.open_sessions.remove(owner)
            else:
                _done(opened)

    async def _in_session(
        self, owner: Owner, session_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        session = self.sessions.get(session_id)
        if session is None or session.owner != owner:
            logger.info("session id of another caller (or unknown) refused")
            await send_error(scope, receive, send, 404, "Session not found", self.mcp_path)
            return
        is_stream = scope["method"] == "GET"
        if is_stream:
            refusal = self.open_streams.refusal(owner)
            if refusal is not None:
                logger.info("GET stream refused: {}", refusal)
                await send_error(scope, receive, send, TOO_MANY, refusal, self.mcp_path)
                return
            self.open_streams.add(owner)
        session.in_flight += 1
        try:
            status = await _serve(self.app, scope, receive, send)
        finally:
            _done(session)
            if is_stream:
                self.open_streams.remove(owner)
        ended = status == 404 or (scope["method"] == "DELETE" and status is not None and status < 300)
        if ended and _handshake_era(scope):  # (a 2026-07-28 request is answered without the session)
            self.end(session_id)  # deleted, or the SDK no longer knows it (it ended on its side)

    def end(self, session_id: str) -> None:
        """Forget a session and everything the gateway kept for it."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        self.open_sessions.remove(session.owner)
        self.on_end(session_id)

    async def close_idle_sessions(self) -> None:
        """Run for the server's lifetime: close each session idle for longer than the idle timeout."""
        timeout = self.limits.idle_timeout
        period = min(max(timeout / 4, 0.05), 30.0)
        while True:
            await anyio.sleep(period)
            now = time.monotonic()
            idle = [
                session_id
                for session_id, session in self.sessions.items()
                if session.in_flight == 0 and now - session.idle_since >= timeout
            ]
            for session_id in idle:
                await self.close(session_id)
            if idle:
                logger.info("closed {} idle sessions", len(idle))

    async def close(self, session_id: str) -> None:
        """End a session on the SDK's side too, through its public door: a DELETE naming it."""
        await _serve(self.app, _delete_scope(self.mcp_path, session_id), _empty_body, _discard)
        self.end(session_id)


def _decrement(counter: Counter[K], key: K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:  # an empty entry would stay for every caller ever seen
        del counter[key]


def _done(session: _Session) -> None:
    session.in_flight -= 1
    session.idle_since = time.monotonic()


async def _serve(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> int | None:
    """Run `app` for one request; the HTTP status it answered (None if it answered nothing)."""
    status: int | None = None

    async def note_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)

    await app(scope, receive, note_status)
    return status


def _handshake_era(scope: Scope) -> bool:
    """The SDK opens sessions only for requests without a version header or with a handshake-era one."""
    version = _header(scope, PROTOCOL_VERSION_HEADER)
    return version is None or version in HANDSHAKE_PROTOCOL_VERSIONS


def _delete_scope(path: str, session_id: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "DELETE",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(SESSION_HEADER, session_id.encode("latin-1"))],
        "client": None,
        "server": None,
    }


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


def _header(holder: Scope | Message, name: bytes) -> str | None:
    for key, value in holder.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
