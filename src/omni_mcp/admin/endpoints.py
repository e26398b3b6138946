"""A small declaration of each admin API endpoint: its route, input models, permission story and answer.

The Starlette routes and the OpenAPI document are both generated from these declarations, so the
document cannot drift from what is served.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omni_mcp.admin.access import as_admin_caller
from omni_mcp.admin.operations import AdminOperations
from omni_mcp.admin.problems import ApiProblem, from_validation_errors
from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.context import Actor

API_PREFIX = "/api/v1"
PATH_PARAMETER = re.compile(r"{([a-z_]+)}")


@dataclass
class ApiCall:
    """One request, parsed: the caller, path parameters, the validated body and query, If-Match."""

    request: Request
    actor: Actor | None
    params: dict[str, str]
    body: Any = None
    query: Any = None
    if_match: str | None = None


Handler = Callable[[AdminOperations, ApiCall], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    handler: Handler
    tag: str
    permission: str | None
    """Checked (with the organization of the path) before the input is even read; None: any caller."""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    conditional: bool = False
    """Takes If-Match (412 when stale) and answers with an ETag."""
    public: bool = False
    errors: tuple[int, ...] = field(default=(401, 403, 404, 422))

    @property
    def operation_id(self) -> str:
        return self.handler.__name__.strip("_")


def build_routes(endpoints: list[Endpoint], operations: Callable[[], AdminOperations]) -> list[Route]:
    return [
        Route(API_PREFIX + endpoint.path, _endpoint_app(endpoint, operations), methods=[endpoint.method])
        for endpoint in endpoints
    ]


def _endpoint_app(endpoint: Endpoint, operations: Callable[[], AdminOperations]) -> Callable[..., Any]:
    async def serve(request: Request) -> Response:
        try:
            ops = operations()
            actor = as_admin_caller(actor_in(request.scope), ops.runtime.settings.admin.operators)
            call = ApiCall(
                request=request,
                actor=actor,
                params={key: str(value) for key, value in request.path_params.items()},
                if_match=request.headers.get("if-match"),
            )
            if actor is None:
                raise ApiProblem(401, "sign in, or send an API key or bearer token")
            if endpoint.permission is not None:
                await ops.access.require(actor, endpoint.permission, call.params.get("org"))
            if endpoint.query is not None:
                call.query = _validated(endpoint.query, dict(request.query_params))
            if endpoint.body is not None:
                call.body = _validated(endpoint.body, await _json_body(request))
            result = await endpoint.handler(ops, call)
        except ApiProblem as problem:
            return problem.response(request.url.path)
        return _answer(endpoint, result)

    serve.__name__ = endpoint.operation_id
    return serve


async def _json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiProblem(415, "send the body as application/json", field="Content-Type")
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ApiProblem(400, f"the body is not valid JSON: {error}", field="body") from None


def _validated(model: type[BaseModel], data: Any) -> BaseModel:
    if not isinstance(data, dict):
        raise ApiProblem(422, "the body must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation_errors(error.errors()) from None


def _answer(endpoint: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    headers = {}
    if isinstance(result, tuple):
        result, etag = result
        headers["etag"] = etag
    return JSONResponse(result, status_code=endpoint.status, headers=headers)


def path_parameters(path: str) -> list[str]:
    return PATH_PARAMETER.findall(path)
