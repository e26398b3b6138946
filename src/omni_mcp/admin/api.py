"""The admin REST API under /api/v1: each endpoint declared once; routes and OpenAPI come from the list."""

from __future__ import annotations

from typing import Any

from starlette.responses import StreamingResponse

from omni_mcp.admin import schemas as s
from omni_mcp.admin.endpoints import ApiCall, Endpoint
from omni_mcp.admin.operations import AdminOperations
from omni_mcp.admin.problems import ApiProblem
from omni_mcp.auth import permissions as p

ORG = "/organizations/{org}"


def _items(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": rows}


async def get_me(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.me(call.actor)


async def list_organizations(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.list_organizations(call.actor))


async def create_organization(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.create_organization(call.actor, call.body.slug, call.body.name)


async def get_organization(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.get_organization(call.actor, call.params["org"])


async def update_organization(ops: AdminOperations, call: ApiCall) -> Any:
    changes = call.body.model_dump(exclude_unset=True)
    return await ops.update_organization(call.actor, call.params["org"], changes, call.if_match)


async def delete_organization(ops: AdminOperations, call: ApiCall) -> Any:
    await ops.delete_organization(call.actor, call.params["org"], call.if_match)


async def list_members(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.list_members(call.actor, call.params["org"]))


async def get_member(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.get_member(call.actor, call.params["org"], call.params["user"])


async def put_member(ops: AdminOperations, call: ApiCall) -> Any:
    body: s.MemberPut = call.body
    return await ops.put_member(
        call.actor, call.params["org"], call.params["user"], body.role, body.permissions, call.if_match
    )


async def delete_member(ops: AdminOperations, call: ApiCall) -> Any:
    await ops.delete_member(call.actor, call.params["org"], call.params["user"], call.if_match)


async def list_services(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.list_services(call.actor, call.params["org"]))


async def get_service(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.get_service(call.actor, call.params["org"], call.params["server"])


async def put_service(ops: AdminOperations, call: ApiCall) -> Any:
    body: s.ServicePut = call.body
    return await ops.put_service(
        call.actor, call.params["org"], call.params["server"], body.enabled, body.settings, call.if_match
    )


async def list_prompts(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.list_prompts(call.actor, call.params["org"]))


async def get_prompt(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.get_prompt(call.actor, call.params["org"], call.params["name"])


async def put_prompt(ops: AdminOperations, call: ApiCall) -> Any:
    spec = call.body.model_dump(exclude_none=True)
    return await ops.put_prompt(call.actor, call.params["org"], call.params["name"], spec, call.if_match)


async def hide_prompt(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.hide_prompt(call.actor, call.params["org"], call.params["name"], call.if_match)


async def delete_prompt(ops: AdminOperations, call: ApiCall) -> Any:
    await ops.delete_prompt(call.actor, call.params["org"], call.params["name"], call.if_match)


async def render_prompt(ops: AdminOperations, call: ApiCall) -> Any:
    body: s.PromptRender = call.body
    return await ops.render_prompt(
        call.actor, call.params["org"], call.params["name"], body.arguments, body.template
    )


async def list_resources(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.list_resources(call.actor, call.params["org"]))


async def get_resource(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.get_resource(call.actor, call.params["org"], call.query.uri)


async def put_resource(ops: AdminOperations, call: ApiCall) -> Any:
    spec = call.body.model_dump(exclude_none=True)
    return await ops.put_resource(call.actor, call.params["org"], call.query.uri, spec, call.if_match)


async def hide_resource(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.hide_resource(call.actor, call.params["org"], call.query.uri, call.if_match)


async def delete_resource(ops: AdminOperations, call: ApiCall) -> Any:
    await ops.delete_resource(call.actor, call.params["org"], call.query.uri, call.if_match)


async def list_api_keys(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.list_keys(call.actor, call.params["org"]))


async def create_api_key(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.create_key(call.actor, call.params["org"], call.body.model_dump())


async def revoke_api_key(ops: AdminOperations, call: ApiCall) -> Any:
    return await ops.revoke_key(call.actor, call.params["org"], call.params["key_id"])


async def _audit(ops: AdminOperations, call: ApiCall, kind: str, filter_names: tuple[str, ...]) -> Any:
    query = call.query
    filters = {name: getattr(query, name) for name in filter_names}
    if query.format != "json":
        if query.cursor is not None:
            raise ApiProblem(422, "an export has every row: leave out cursor", field="cursor")
        lines = await ops.audit_export(call.actor, call.params["org"], kind, filters, query.format)
        media = "text/csv; charset=utf-8" if query.format == "csv" else "application/x-ndjson"
        filename = f"{call.params['org']}-{kind}.{query.format}"
        return StreamingResponse(
            lines, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'}
        )
    items, next_cursor = await ops.audit_page(
        call.actor, call.params["org"], kind, filters, query.limit, query.cursor
    )
    return {"items": items, "next_cursor": next_cursor}


async def list_changes(ops: AdminOperations, call: ApiCall) -> Any:
    return await _audit(ops, call, "changes", ("actor", "entity_type", "action"))


async def list_calls(ops: AdminOperations, call: ApiCall) -> Any:
    return await _audit(ops, call, "calls", ("actor", "kind", "name", "outcome"))


async def list_plugins(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.plugins(call.actor))


async def list_tools(ops: AdminOperations, call: ApiCall) -> Any:
    return _items(await ops.tools(call.actor, call.params["org"]))


OK_ONLY = (401, 403)
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/me", "Who the caller is", get_me, "callers", None, response=s.Me, errors=(401,)),
    Endpoint(
        "GET",
        "/plugins",
        "Plugins and their health",
        list_plugins,
        "plugins",
        p.SERVICES_MANAGE,
        response=s.PluginList,
        errors=OK_ONLY,
    ),
    Endpoint(
        "GET",
        "/organizations",
        "Organizations the caller administers",
        list_organizations,
        "organizations",
        p.SERVICES_MANAGE,
        response=s.OrganizationList,
        errors=OK_ONLY,
    ),
    Endpoint(
        "POST",
        "/organizations",
        "Create an organization (operators)",
        create_organization,
        "organizations",
        p.ORGANIZATIONS_MANAGE,
        body=s.OrganizationCreate,
        response=s.Organization,
        status=201,
        errors=(401, 403, 409, 422),
    ),
    Endpoint(
        "GET",
        ORG,
        "One organization",
        get_organization,
        "organizations",
        p.SERVICES_MANAGE,
        response=s.Organization,
        conditional=True,
    ),
    Endpoint(
        "PATCH",
        ORG,
        "Rename, or switch argument auditing",
        update_organization,
        "organizations",
        p.SERVICES_MANAGE,
        body=s.OrganizationUpdate,
        response=s.Organization,
        conditional=True,
    ),
    Endpoint(
        "DELETE",
        ORG,
        "Delete an organization and all it owns (operators)",
        delete_organization,
        "organizations",
        p.ORGANIZATIONS_MANAGE,
        status=204,
        conditional=True,
    ),
    Endpoint(
        "GET",
        ORG + "/members",
        "Members and roles",
        list_members,
        "members",
        p.SERVICES_MANAGE,
        response=s.MemberList,
    ),
    Endpoint(
        "GET",
        ORG + "/members/{user}",
        "One member",
        get_member,
        "members",
        p.SERVICES_MANAGE,
        response=s.Member,
        conditional=True,
    ),
    Endpoint(
        "PUT",
        ORG + "/members/{user}",
        "Add a member or change their role",
        put_member,
        "members",
        p.MEMBERS_MANAGE,
        body=s.MemberPut,
        response=s.Member,
        conditional=True,
    ),
    Endpoint(
        "DELETE",
        ORG + "/members/{user}",
        "Remove a member",
        delete_member,
        "members",
        p.MEMBERS_MANAGE,
        status=204,
        conditional=True,
    ),
    Endpoint(
        "GET",
        ORG + "/services",
        "MCP servers: enabled or not, settings (secrets masked)",
        list_services,
        "services",
        p.SERVICES_MANAGE,
        response=s.ServiceList,
    ),
    Endpoint(
        "GET",
        ORG + "/services/{server}",
        "One MCP server's state for the organization",
        get_service,
        "services",
        p.SERVICES_MANAGE,
        response=s.Service,
        conditional=True,
    ),
    Endpoint(
        "PUT",
        ORG + "/services/{server}",
        "Enable/disable, change settings (validated)",
        put_service,
        "services",
        p.SERVICES_MANAGE,
        body=s.ServicePut,
        response=s.Service,
        conditional=True,
    ),
    Endpoint(
        "GET",
        ORG + "/tools",
        "Tools as the organization sees them",
        list_tools,
        "services",
        p.SERVICES_MANAGE,
        response=s.ToolList,
    ),
    Endpoint(
        "GET",
        ORG + "/prompts",
        "Effective prompts with their origin",
        list_prompts,
        "prompts",
        p.PROMPTS_WRITE,
        response=s.PromptList,
    ),
    Endpoint(
        "GET",
        ORG + "/prompts/{name}",
        "One prompt (ETag of the organization's own row)",
        get_prompt,
        "prompts",
        p.PROMPTS_WRITE,
        response=s.PromptEntry,
        conditional=True,
    ),
    Endpoint(
        "PUT",
        ORG + "/prompts/{name}",
        "Override a default or add a prompt",
        put_prompt,
        "prompts",
        p.PROMPTS_WRITE,
        body=s.PromptPut,
        conditional=True,
    ),
    Endpoint(
        "POST",
        ORG + "/prompts/{name}/hide",
        "Hide a default prompt",
        hide_prompt,
        "prompts",
        p.PROMPTS_WRITE,
        conditional=True,
    ),
    Endpoint(
        "DELETE",
        ORG + "/prompts/{name}",
        "Delete the organization's own prompt",
        delete_prompt,
        "prompts",
        p.PROMPTS_WRITE,
        status=204,
        conditional=True,
    ),
    Endpoint(
        "POST",
        ORG + "/prompts/{name}/render",
        "Render with arguments (no tool is called)",
        render_prompt,
        "prompts",
        p.PROMPTS_WRITE,
        body=s.PromptRender,
        response=s.RenderResult,
    ),
    Endpoint(
        "GET",
        ORG + "/resources",
        "Effective resources with their origin",
        list_resources,
        "resources",
        p.RESOURCES_WRITE,
        response=s.ResourceList,
    ),
    Endpoint(
        "GET",
        ORG + "/resource",
        "One resource, by ?uri=",
        get_resource,
        "resources",
        p.RESOURCES_WRITE,
        query=s.ResourceQuery,
        response=s.ResourceEntry,
        conditional=True,
    ),
    Endpoint(
        "PUT",
        ORG + "/resource",
        "Override or add the text resource at ?uri=",
        put_resource,
        "resources",
        p.RESOURCES_WRITE,
        query=s.ResourceQuery,
        body=s.ResourcePut,
        conditional=True,
    ),
    Endpoint(
        "POST",
        ORG + "/resource/hide",
        "Hide the resource at ?uri=",
        hide_resource,
        "resources",
        p.RESOURCES_WRITE,
        query=s.ResourceQuery,
        conditional=True,
    ),
    Endpoint(
        "DELETE",
        ORG + "/resource",
        "Delete the organization's own resource at ?uri=",
        delete_resource,
        "resources",
        p.RESOURCES_WRITE,
        query=s.ResourceQuery,
        status=204,
        conditional=True,
    ),
    Endpoint(
        "GET",
        ORG + "/api-keys",
        "API keys (never the keys themselves)",
        list_api_keys,
        "api-keys",
        p.APIKEYS_MANAGE,
        response=s.ApiKeyList,
    ),
    Endpoint(
        "POST",
        ORG + "/api-keys",
        "Create an API key (shown once)",
        create_api_key,
        "api-keys",
        p.APIKEYS_MANAGE,
        body=s.ApiKeyCreate,
        response=s.CreatedApiKey,
        status=201,
    ),
    Endpoint(
        "DELETE",
        ORG + "/api-keys/{key_id}",
        "Revoke an API key",
        revoke_api_key,
        "api-keys",
        p.APIKEYS_MANAGE,
        response=s.ApiKey,
    ),
    Endpoint(
        "GET",
        ORG + "/audit/changes",
        "Change audit: filters, cursor pages, ?format=jsonl|csv export",
        list_changes,
        "audit",
        p.AUDIT_READ,
        query=s.AuditQuery,
        response=s.AuditPage,
    ),
    Endpoint(
        "GET",
        ORG + "/audit/calls",
        "Call audit: filters, cursor pages, ?format=jsonl|csv export",
        list_calls,
        "audit",
        p.AUDIT_READ,
        query=s.CallQuery,
        response=s.CallPage,
    ),
]
