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

A client address that keeps presenting bad credentials gets 429 before any lookup (see
omni_mcp.ratelimit.failed_auth).

Which caller owns which handshake-era session is the gateway's business (`gateway/sessions.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from loguru import logger
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.auth.credentials import CREDENTIAL_HEADERS, presents_credential
from omni_mcp.auth.errors import AuthenticationError, InvalidCredential
from omni_mcp.auth.mode import local_mode_enabled
from omni_mcp.auth.resource_metadata import bearer_challenge, is_metadata_path, metadata_url
from omni_mcp.context import Actor
from omni_mcp.security.errors import send_error

if TYPE_CHECKING:
    from omni_mcp.ratelimit.failed_auth import FailedAuthLimiter
    from omni_mcp.runtime import Runtime

ACTOR_SCOPE_KEY = "omni_mcp.actor"
PUBLIC_PATHS = ("/health", "/api/v1/openapi.json")
# These check their callers themselves: the admin UI (a session cookie, else a sign-in page) and the
# identity-provider webhooks (a signature on the body). A credential header, if sent, is still verified.
SELF_AUTHENTICATED_PREFIXES = ("/admin", "/webhooks")


def actor_in(scope: Mapping[str, Any]) -> Actor | None:
    actor = scope.get(ACTOR_SCOPE_KEY)
    return actor if isinstance(actor, Actor) else None


class _Unresolved(Exception):
    """No plugin resolved the request and it may not go on without an Actor."""


class _PluginFailed(Exception):
    """A plugin's `actor_from_request` broke (already logged)."""


class _Blocked(Exception):
    """The client's address presented too many bad credentials lately: no lookup for it now."""


def _failed_auth_limiter(runtime: Runtime) -> FailedAuthLimiter | None:
    """Limits refused credentials per address, with the rate limits' bucket store; off with them or at 0."""
    # Imported here: omni_mcp.ratelimit.limiter imports this module.
    from omni_mcp.ratelimit.buckets import Limit
    from omni_mcp.ratelimit.failed_auth import FailedAuthLimiter

    limits = runtime.settings.rate_limit
    if runtime.rate_limiter is None or limits.failed_auth_per_minute <= 0:
        return None
    return FailedAuthLimiter(
        runtime.rate_limiter.store, Limit(limits.failed_auth_per_minute, limits.failed_auth_burst)
    )


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
        self.failures = _failed_auth_limiter(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # Plugins' routes may include websockets: they are authenticated the same way (from the upgrade).
        request = Request({**scope, "type": "http"} if scope["type"] == "websocket" else scope)
        address = client_address(scope)
        blocked = self._blocked_for(address, scope)
        try:
            if blocked is not None:
                raise _Blocked
            resolved = await self._resolve(request)
        except (AuthenticationError, _Unresolved, _PluginFailed, _Blocked) as error:
            if isinstance(error, AuthenticationError):
                logger.info("credential refused ({}): {}", error.status, error.reason)
                if error.status == 401 and self.failures is not None:
                    blocked = await self.failures.failed(address)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # policy violation, before accepting
            elif blocked is not None:
                await self._too_many_failures(scope, receive, send, blocked)
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
        await self.app(scope, receive, send)

    def _blocked_for(self, address: str, scope: Scope) -> float | None:
        if self.failures is None or not presents_credential(scope["headers"]):
            return None
        return self.failures.retry_after(address)

    async def _too_many_failures(
        self, scope: Scope, receive: Receive, send: Send, retry_after: float
    ) -> None:
        assert self.failures is not None
        await self.failures.refuse(scope, receive, send, self.mcp_path, retry_after)

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


def client_address(scope: Scope) -> str:
    """The caller's address as the server saw it (uvicorn applies a trusted proxy's X-Forwarded-For)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
