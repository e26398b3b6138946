"""Resolve every request to an Actor and carry it in the ASGI scope, where the gateway reads it.

Plugins resolve callers through the `actor_from_request` hook (the first Actor returned wins); the core's
own API-key and OIDC verifiers are such plugins. A verifier that finds the credential bad raises an
AuthenticationError, which becomes the answer here: 401 with `WWW-Authenticate: Bearer resource_metadata=...,
error="invalid_token"` (403 for a valid token of an organization not served, 503 when it cannot be checked).

When no plugin resolves the request:
- it carried a credential nobody understood: 401 invalid_token (a bad credential is never ignored);
- local mode is on: it is the local user (owner) of the default organization;
- it is for a public path (/health, the protected-resource metadata, `auth.public_paths`): no Actor;
- otherwise: 401 with the `WWW-Authenticate` challenge pointing at the resource metadata.

The credential headers (Authorization, X-API-Key) are removed before the request goes further, so
nothing behind this middleware (the gateway, plugins, their upstream calls) can see or forward them.

A handshake-era session belongs to the caller who opened it: a request naming the session id of
another caller (or one we never saw opened) gets 404, as an unknown session would, so a leaked session
id is worth nothing without its owner's credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache
from loguru import logger
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omni_mcp.auth.credentials import CREDENTIAL_HEADERS, presents_credential
from omni_mcp.auth.errors import AuthenticationError, InvalidCredential
from omni_mcp.auth.mode import local_mode_enabled
from omni_mcp.auth.resource_metadata import bearer_challenge, is_metadata_path, metadata_url
from omni_mcp.context import Actor
from omni_mcp.security.errors import send_error

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

ACTOR_SCOPE_KEY = "omni_mcp.actor"
PUBLIC_PATHS = ("/health", "/api/v1/openapi.json")
# These check their callers themselves: the admin UI (a session cookie, else a sign-in page) and the
# identity-provider webhooks (a signature on the body). A credential header, if sent, is still verified.
SELF_AUTHENTICATED_PREFIXES = ("/admin", "/webhooks")
SESSION_HEADER = b"mcp-session-id"
Owner = tuple[str, str, str]


def actor_in(scope: Mapping[str, Any]) -> Actor | None:
    actor = scope.get(ACTOR_SCOPE_KEY)
    return actor if isinstance(actor, Actor) else None


class _Unresolved(Exception):
    """No plugin resolved the request and it may not go on without an Actor."""


class _PluginFailed(Exception):
    """A plugin's `actor_from_request` broke (already logged)."""


class ActorMiddleware:
    def __init__(
        self, app: ASGIApp, *, runtime: Runtime, mcp_path: str, local_mode: bool | None = None
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.mcp_path = mcp_path
        self.local_mode = local_mode_enabled(runtime.settings) if local_mode is None else local_mode
        self.local = Actor.local(runtime.settings.tenancy.default_organization)
        self.public_prefixes = [p.rstrip("/") for p in runtime.settings.auth.public_paths]
        gateway = runtime.settings.gateway
        # Each use refreshes an entry; the SDK closes a session idle for session_idle_timeout anyway.
        self.session_owners: TTLCache[str, Owner] = TTLCache(
            maxsize=2 * gateway.max_sessions, ttl=gateway.session_idle_timeout + 60
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # Plugins' routes may include websockets: they are authenticated the same way (from the upgrade).
        request = Request({**scope, "type": "http"} if scope["type"] == "websocket" else scope)
        try:
            resolved = await self._resolve(request)
        except (AuthenticationError, _Unresolved, _PluginFailed) as error:
            if isinstance(error, AuthenticationError):
                logger.info("credential refused ({}): {}", error.status, error.reason)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # policy violation, before accepting
            elif isinstance(error, _PluginFailed):  # fail closed, without a traceback in the answer
                await send_error(scope, receive, send, 500, "Could not resolve the caller", self.mcp_path)
            else:
                await self._refuse(
                    scope, receive, send, request, error if isinstance(error, AuthenticationError) else None
                )
            return
        if resolved is not None:
            scope[ACTOR_SCOPE_KEY] = resolved
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() not in CREDENTIAL_HEADERS]
        if resolved is None or scope["path"] != self.mcp_path:
            await self.app(scope, receive, send)
            return
        await self._in_own_session(resolved, scope, receive, send)

    async def _in_own_session(self, actor: Actor, scope: Scope, receive: Receive, send: Send) -> None:
        owner: Owner = (actor.kind, actor.id, actor.organization)
        session_id = _header(scope, SESSION_HEADER)
        if session_id is not None:
            if self.session_owners.get(session_id) != owner:
                logger.info("session id of another caller (or unknown) refused")
                await send_error(scope, receive, send, 404, "Session not found", self.mcp_path)
                return
            self.session_owners[session_id] = owner  # refreshes its lifetime

        async def remember_new_session(message: Message) -> None:
            if message["type"] == "http.response.start" and session_id is None:
                created = _header(message, SESSION_HEADER)
                if created is not None:
                    self.session_owners[created] = owner
            await send(message)

        await self.app(scope, receive, remember_new_session)

    async def _resolve(self, request: Request) -> Actor | None:
        answers = self.runtime.plugins.call_each("actor_from_request", request=request, runtime=self.runtime)
        async with aclosing(answers):
            async for plugin, actor, error in answers:
                if isinstance(error, AuthenticationError):
                    raise error
                if error is not None:
                    logger.opt(exception=error).error("plugin {} failed to resolve the caller", plugin)
                    raise _PluginFailed from None
                if isinstance(actor, Actor):
                    return actor
        if presents_credential(request.scope["headers"]):
            raise InvalidCredential("credential not recognized")
        if self.local_mode:
            return self.local
        if self._is_public(request.scope["path"]):
            return None
        raise _Unresolved

    def _is_public(self, path: str) -> bool:
        if path in PUBLIC_PATHS or is_metadata_path(path):
            return True
        if any(path == prefix or path.startswith(prefix + "/") for prefix in SELF_AUTHENTICATED_PREFIXES):
            return True
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.public_prefixes)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        error: AuthenticationError | None,
    ) -> None:
        if error is not None and error.status != 401:
            headers = {"retry-after": "5"} if error.status == 503 else {}
            await send_error(scope, receive, send, error.status, error.reason, self.mcp_path, headers)
            return
        reason = error.reason if error is not None else None
        challenge = bearer_challenge(
            ("resource_metadata", metadata_url(self.runtime.settings, request)),
            ("error", "invalid_token" if error is not None else None),
            ("error_description", reason),
        )
        message = "Authentication required" if reason is None else f"Invalid credential: {reason}"
        await send_error(scope, receive, send, 401, message, self.mcp_path, {"www-authenticate": challenge})


def _header(holder: Scope | Message, name: bytes) -> str | None:
    for key, value in holder.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
