"""The admin as a default plugin: it contributes its routes like any plugin would."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from omni_mcp.admin.api import ENDPOINTS
from omni_mcp.admin.endpoints import API_PREFIX, build_routes
from omni_mcp.admin.openapi import openapi_document
from omni_mcp.admin.operations import AdminOperations
from omni_mcp.admin.ui import AdminUI
from omni_mcp.admin.webhooks import CLERK_PATH, clerk_endpoint
from omni_mcp.default_plugins.api_keys import key_state
from omni_mcp.hookspecs import hookimpl
from omni_mcp.runtime import Runtime

OPENAPI_PATH = API_PREFIX + "/openapi.json"


@hookimpl
def register_routes(runtime: Runtime) -> list[BaseRoute]:
    if not runtime.settings.admin.enabled:
        return []
    operations = AdminOperations(runtime, key_state(runtime).service)
    document = openapi_document(ENDPOINTS, runtime.version)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document)

    routes: list[BaseRoute] = [Route(OPENAPI_PATH, openapi, methods=["GET"])]
    routes += build_routes(ENDPOINTS, lambda: operations)
    routes.append(Route(CLERK_PATH, clerk_endpoint(runtime), methods=["POST"]))
    routes += AdminUI(runtime, operations).routes()
    return routes
