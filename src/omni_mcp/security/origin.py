"""DNS-rebinding protection: refuse browser Origins and Host names that are not allowed."""

from __future__ import annotations

import fnmatch

from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.security.errors import send_error

LOOPBACK_HOST_PATTERNS = ("127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*")


class OriginMiddleware:
    """Requests without Origin (non-browser clients) pass; a present Origin must match the allow-list.

    Host is checked against `allowed_hosts`; when that is empty and we bind to loopback, only loopback
    names are accepted, which is what stops a rebinding attack on a local install.
    """

    def __init__(
        self, app: ASGIApp, *, allowed_origins: list[str], allowed_hosts: list[str], mcp_path: str
    ) -> None:
        self.app = app
        self.allowed_origins = [o.rstrip("/").lower() for o in allowed_origins]
        self.allowed_hosts = [h.lower() for h in allowed_hosts]
        self.mcp_path = mcp_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is not None and not _matches(
            origin.decode("latin-1").rstrip("/").lower(), self.allowed_origins
        ):
            await send_error(scope, receive, send, 403, "Origin not allowed", self.mcp_path)
            return
        host = headers.get(b"host")
        if self.allowed_hosts and (
            host is None or not _matches(host.decode("latin-1").lower(), self.allowed_hosts)
        ):
            await send_error(scope, receive, send, 421, "Host not allowed", self.mcp_path)
            return
        await self.app(scope, receive, send)


def _matches(value: str, patterns: list[str]) -> bool:
    return any(value == p or ("*" in p and fnmatch.fnmatchcase(value, p)) for p in patterns)
