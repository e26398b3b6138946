"""The OpenAPI 3.1 document of the admin API, generated from the endpoint declarations and their models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from omni_mcp.admin.endpoints import API_PREFIX, Endpoint, path_parameters
from omni_mcp.admin.problems import PROBLEM_TYPE, TITLES
from omni_mcp.admin.schemas import Problem

REF = "#/components/schemas/{model}"


def openapi_document(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for endpoint in endpoints:
        if endpoint.body is not None:
            wanted.append((endpoint.body, "validation"))
        if endpoint.response is not None:
            wanted.append((endpoint.response, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation = _operation(endpoint, refs)
        paths.setdefault(API_PREFIX + endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "omni-mcp admin API",
            "version": version,
            "description": "Organizations, members, services, prompts, resources, API keys and audits. "
            "Errors are RFC 9457 problem details naming the field; edits take If-Match (412 when stale).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "OIDC token or omk_ API key"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


def _operation(endpoint: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_parameters(endpoint.path)
    ]
    if endpoint.query is not None:
        schema = endpoint.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if endpoint.conditional:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "The ETag you read; the edit is refused with 412 if it changed since.",
                "schema": {"type": "string"},
            }
        )
    problem = {PROBLEM_TYPE: {"schema": refs[(Problem, "serialization")]}}
    responses: dict[str, Any] = {}
    if endpoint.status == 204 or (endpoint.response is None and endpoint.method == "DELETE"):
        responses["204"] = {"description": "Done"}
    else:
        content: dict[str, Any] = {"application/json": {"schema": {}}}
        if endpoint.response is not None:
            content = {"application/json": {"schema": refs[(endpoint.response, "serialization")]}}
        ok: dict[str, Any] = {"description": "OK", "content": content}
        if endpoint.conditional:
            ok["headers"] = {"ETag": {"schema": {"type": "string"}, "description": "The version read."}}
        responses[str(endpoint.status)] = ok
    codes = set(endpoint.errors) | ({412} if endpoint.conditional else set())
    if endpoint.body is not None:
        codes |= {400, 415}
    for code in sorted(codes):
        responses[str(code)] = {"description": TITLES.get(code, "Error"), "content": problem}
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
        "x-permission": endpoint.permission,
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
        }
    if endpoint.public:
        operation["security"] = []
    return operation
