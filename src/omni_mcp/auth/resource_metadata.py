"""OAuth 2.0 Protected Resource Metadata (RFC 9728), as the MCP authorization spec asks of a server.

Served at `/.well-known/oauth-protected-resource` and at the path-suffixed form for the MCP endpoint
(`/.well-known/oauth-protected-resource/mcp`); 401 answers point to the latter in `WWW-Authenticate`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from omni_mcp.settings import Settings

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def resource_url(settings: Settings, request: Request) -> str:
    """`auth.resource`, or else the MCP endpoint's URL as this request reached it (fine for local use)."""
    if settings.auth.resource:
        return settings.auth.resource
    base = f"{request.url.scheme}://{request.url.netloc}"
    return base + settings.gateway.path


def metadata_url(settings: Settings, request: Request) -> str:
    """Where the metadata of our resource is: the well-known path with the resource's path appended."""
    parts = urlsplit(resource_url(settings, request))
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))


def bearer_challenge(*params: tuple[str, str | None]) -> str:
    """A `WWW-Authenticate: Bearer k="v", ...` value (RFC 6750) from (name, value) pairs in order; pairs
    whose value is None are left out, and what would break the quoting is dropped from each value."""
    pairs = [f'{name}="{_quotable(value)}"' for name, value in params if value is not None]
    return "Bearer " + ", ".join(pairs)


def _quotable(value: str) -> str:
    return "".join(c for c in value if c.isprintable() and c not in '"\\')


def metadata_paths(settings: Settings) -> list[str]:
    paths = [WELL_KNOWN, WELL_KNOWN + settings.gateway.path.rstrip("/")]
    if settings.auth.resource:
        paths.append(WELL_KNOWN + urlsplit(settings.auth.resource).path.rstrip("/"))
    return list(dict.fromkeys(path for path in paths if path))


def metadata_document(settings: Settings, request: Request) -> dict[str, Any]:
    document: dict[str, Any] = {
        "resource": resource_url(settings, request),
        "bearer_methods_supported": ["header"],
        "resource_name": "omni-mcp",
    }
    if settings.auth.issuers:
        document["authorization_servers"] = list(settings.auth.issuers)
    return document


def metadata_routes(settings: Settings) -> list[Route]:
    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(
            metadata_document(settings, request), headers={"cache-control": "public, max-age=3600"}
        )

    return [Route(path, metadata, methods=["GET"]) for path in metadata_paths(settings)]


def is_metadata_path(path: str) -> bool:
    return path == WELL_KNOWN or path.startswith(WELL_KNOWN + "/")
