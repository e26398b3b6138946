"""GET /health: the status for anyone (load balancers, uptime checks); the details for operators only.

A caller who is not an operator of the gateway (no credential, or one without `services:manage`) gets
`{"status": ...}` and nothing else. Operators (admins and owners, and the local user in local mode) also
get the version, uptime and each plugin's health; those details come from plugins and exceptions, so
credentials are redacted from them as from every text shown (omni_mcp.redaction).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from omni_mcp.auth.access import AccessControl
from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.auth.permissions import SERVICES_MANAGE
from omni_mcp.redaction import redact_secrets
from omni_mcp.runtime import Runtime


async def health_response(runtime: Runtime, request: Request) -> JSONResponse:
    states = await runtime.check_health()
    core_ok = all(state.health.ok for state in states.values() if state.info.source == "core")
    plugins_ok = all(state.health.ok for state in states.values())
    status = "healthy" if plugins_ok else ("degraded" if core_ok else "unhealthy")
    body: dict[str, Any] = {"status": status}
    actor = actor_in(request.scope)
    if actor is not None and await AccessControl(runtime.plugins).allowed(actor, SERVICES_MANAGE):
        body["version"] = runtime.version
        body["uptime_seconds"] = round(runtime.uptime_seconds, 3)
        body["plugins"] = {
            name: {
                "status": state.health.status,
                "version": state.info.version,
                "detail": redact_secrets(state.health.detail),
                "serving": not state.withheld,
            }
            for name, state in states.items()
        }
        # The caller's organization's own MCP servers only: another organization's are none of its business.
        body["upstreams"] = [
            {**upstream, "detail": redact_secrets(upstream["detail"])}
            for upstream in runtime.federation.health()
            if upstream["organization"] == actor.organization
        ]
    return JSONResponse(body, status_code=200 if core_ok else 503)
