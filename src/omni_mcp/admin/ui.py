"""The admin web UI at /admin: server-rendered pages (Jinja2, autoescaped), HTMX for the live prompt test.

Every page and form goes through AdminOperations, the same checks and services as the REST API. Forms
post back (POST, then redirect) with the CSRF token; the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import anyio.to_thread
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from omni_mcp.admin import audit_query
from omni_mcp.admin.access import as_admin_caller
from omni_mcp.admin.cookies import SESSION_COOKIE, CookieSigner, csrf_ok, csrf_token, remember_csrf
from omni_mcp.admin.operations import AdminOperations
from omni_mcp.admin.problems import ApiProblem
from omni_mcp.admin.schemas import CURSOR
from omni_mcp.admin.signin import OidcSignIn, SignInFailed, session_actor
from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.context import Actor
from omni_mcp.db.models import utcnow

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

HERE = Path(__file__).parent
PAGE_SIZE = 50
AUDIT_FILTERS = ("actor", "entity_type", "action")
CALL_FILTERS = ("actor", "kind", "name", "outcome")
Page = Callable[[Request, Actor], Awaitable[Response]]


class AdminUI:
    def __init__(self, runtime: Runtime, operations: AdminOperations) -> None:
        self.runtime = runtime
        self.ops = operations
        self.signer = CookieSigner(runtime.secrets)
        self.signin = OidcSignIn(runtime, self.signer)
        self.templates = Jinja2Templates(directory=HERE / "templates")

    def routes(self) -> list[BaseRoute]:
        org = "/admin/orgs/{org}"
        get, post = ["GET"], ["POST"]
        return [
            Mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin_static"),
            Route("/admin/login", self.login, methods=get),
            Route("/admin/callback", self.callback, methods=get),
            Route("/admin/logout", self.page(self.logout), methods=post),
            Route("/admin", self.page(self.overview), methods=get),
            Route("/admin/orgs", self.page(self.create_organization), methods=post),
            Route(org, self.page(self.organization), methods=get),
            Route(org, self.page(self.update_organization), methods=post),
            Route(org + "/members", self.page(self.add_member), methods=post),
            Route(org + "/members/remove", self.page(self.remove_member), methods=post),
            Route(org + "/services", self.page(self.services), methods=get),
            Route(org + "/services/{server}", self.page(self.change_service), methods=post),
            Route(org + "/prompts", self.page(self.prompts), methods=get),
            Route(org + "/new-prompt", self.page(self.new_prompt), methods=get),
            Route(org + "/prompts/{name}", self.page(self.prompt_editor), methods=get),
            Route(org + "/prompts/{name}", self.page(self.save_prompt), methods=post),
            Route(org + "/prompts/{name}/test", self.page(self.test_prompt), methods=post),
            Route(org + "/prompts/{name}/hide", self.page(self.hide_prompt), methods=post),
            Route(org + "/prompts/{name}/delete", self.page(self.delete_prompt), methods=post),
            Route(org + "/resources", self.page(self.resources), methods=get),
            Route(org + "/resources", self.page(self.save_resource), methods=post),
            Route(org + "/resources/hide", self.page(self.hide_resource), methods=post),
            Route(org + "/resources/delete", self.page(self.delete_resource), methods=post),
            Route(org + "/keys", self.page(self.keys), methods=get),
            Route(org + "/keys", self.page(self.create_key), methods=post),
            Route(org + "/keys/{key_id}/revoke", self.page(self.revoke_key), methods=post),
            Route(org + "/audit", self.page(self.audit), methods=get),
            Route(org + "/calls", self.page(self.calls), methods=get),
            Route(org + "/{kind:str}.{form:str}", self.page(self.export), methods=get),
        ]

    # plumbing: caller, CSRF, errors

    def caller(self, request: Request) -> Actor | None:
        actor = actor_in(request.scope) or session_actor(self.signer, request)
        return as_admin_caller(actor, self.runtime.settings.admin.operators)

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            actor = self.caller(request)
            if actor is None:
                if request.method == "GET":
                    return RedirectResponse("/admin/login?" + urlencode({"next": request.url.path}), 303)
                return self.render(
                    request, None, "error.html", {"problem": ApiProblem(401, "sign in first")}, 401
                )
            if request.method == "POST" and not await csrf_ok(request):
                problem = ApiProblem(403, "the form is missing its CSRF token: reload the page and try again")
                return self.render(request, actor, "error.html", {"problem": problem}, 403)
            try:
                response = await handler(request, actor)
            except ApiProblem as problem:
                response = self.render(request, actor, "error.html", {"problem": problem}, problem.status)
            remember_csrf(request, response)
            return response

        return serve

    def render(
        self, request: Request, actor: Actor | None, template: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        base = {
            "actor": actor,
            "csrf": csrf_token(request),
            "org": request.path_params.get("org"),
            "signed_in": SESSION_COOKIE in request.cookies,
        }
        response = self.templates.TemplateResponse(request, template, {**base, **context}, status_code=status)
        # "no-referrer" (the default elsewhere) makes browsers send `Origin: null` on form posts, which the
        # Origin check rightly refuses; same-origin keeps the Origin while telling other sites nothing.
        response.headers["referrer-policy"] = "same-origin"
        remember_csrf(request, response)
        return response

    def back(self, request: Request, message: str, path: str | None = None) -> Response:
        target = path or request.url.path
        return RedirectResponse(f"{target}?{urlencode({'done': message})}", status_code=303)

    # sign-in

    async def login(self, request: Request) -> Response:
        if self.caller(request) is not None:
            return RedirectResponse("/admin", 303)
        if not self.signin.configured:
            return self.render(request, None, "signin.html", {"configured": False}, 401)
        try:
            return await self.signin.start(request)
        except SignInFailed as error:
            return self.render(request, None, "signin.html", {"configured": True, "error": str(error)}, 502)

    async def callback(self, request: Request) -> Response:
        try:
            return await self.signin.finish(request)
        except SignInFailed as error:
            return self.render(request, None, "signin.html", {"configured": True, "error": str(error)}, 400)

    async def logout(self, request: Request, actor: Actor) -> Response:
        response = RedirectResponse("/admin/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # overview and organization

    async def overview(self, request: Request, actor: Actor) -> Response:
        organizations = await self.ops.list_organizations(actor)
        plugins = await self.ops.plugins(actor)
        since = utcnow() - timedelta(hours=1)
        activity = await anyio.to_thread.run_sync(audit_query.recent_activity, self.runtime.engine, since)
        operator = await self.ops.access.is_operator(actor)
        return self.render(
            request,
            actor,
            "overview.html",
            {"organizations": organizations, "plugins": plugins, "activity": activity, "operator": operator},
        )

    async def create_organization(self, request: Request, actor: Actor) -> Response:
        form = await request.form()
        slug = _field(form, "slug")
        await self.ops.create_organization(actor, slug, _field(form, "name") or None)
        return self.back(request, f"organization {slug} created", f"/admin/orgs/{slug}")

    async def organization(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        view, version = await self.ops.get_organization(actor, slug)
        members = await self.ops.list_members(actor, slug)
        return self.render(
            request,
            actor,
            "organization.html",
            {"organization": view, "version": version, "members": paginate(request, members)},
        )

    async def update_organization(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        form = await request.form()
        changes = {"name": _field(form, "name"), "audit_arguments": form.get("audit_arguments") == "on"}
        await self.ops.update_organization(actor, slug, changes, _field(form, "version") or None)
        return self.back(request, "organization saved")

    async def add_member(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        form = await request.form()
        user = _field(form, "user")
        if not user:
            raise ApiProblem(422, "give the member's user id", field="user")
        await self.ops.put_member(actor, slug, user, _field(form, "role"), [], None)
        return self.back(request, f"{user} is {_field(form, 'role')}", f"/admin/orgs/{slug}")

    async def remove_member(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        user = _field(await request.form(), "user")
        await self.ops.delete_member(actor, slug, user, None)
        return self.back(request, f"{user} removed", f"/admin/orgs/{slug}")

    # services

    async def services(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        services = await self.ops.list_services(actor, slug)
        tools = await self.ops.tools(actor, slug)
        return self.render(request, actor, "services.html", {"services": services, "tools": tools})

    async def change_service(self, request: Request, actor: Actor) -> Response:
        slug, server = request.path_params["org"], request.path_params["server"]
        form = await request.form()
        version = _field(form, "version") or None
        if "enabled" in form:
            await self.ops.put_service(actor, slug, server, form.get("enabled") == "true", None, version)
            return self.back(
                request,
                f"{server} {'enabled' if form.get('enabled') == 'true' else 'disabled'}",
                f"/admin/orgs/{slug}/services",
            )
        current, _ = await self.ops.get_service(actor, slug, server)
        settings = _settings_from_form(form, current.get("settings_schema") or {})
        if settings:
            await self.ops.put_service(actor, slug, server, None, settings, version)
        return self.back(request, f"{server} settings saved", f"/admin/orgs/{slug}/services")

    # prompts

    async def prompts(self, request: Request, actor: Actor) -> Response:
        prompts = await self.ops.list_prompts(actor, request.path_params["org"])
        return self.render(request, actor, "prompts.html", {"prompts": paginate(request, prompts)})

    async def new_prompt(self, request: Request, actor: Actor) -> Response:
        slug, name = request.path_params["org"], request.query_params.get("name", "").strip()
        if not name:
            raise ApiProblem(422, "give the new prompt a name", field="name")
        return RedirectResponse(f"/admin/orgs/{slug}/prompts/{quote(name, safe='')}", 303)

    async def prompt_editor(self, request: Request, actor: Actor) -> Response:
        slug, name = request.path_params["org"], request.path_params["name"]
        try:
            prompt, version = await self.ops.get_prompt(actor, slug, name)
        except ApiProblem as problem:
            if problem.status != 404:
                raise
            prompt, version = {"name": name, "source": "new", "arguments": [], "template": ""}, ""
        arguments = "\n".join(
            a["name"] + ("*" if a.get("required") else "") for a in prompt.get("arguments", [])
        )
        return self.render(
            request, actor, "prompt.html", {"prompt": prompt, "version": version, "arguments_text": arguments}
        )

    async def save_prompt(self, request: Request, actor: Actor) -> Response:
        slug, name = request.path_params["org"], request.path_params["name"]
        form = await request.form()
        spec: dict[str, Any] = {
            "template": _field(form, "template"),
            "description": _field(form, "description"),
            "arguments": _arguments(_field(form, "arguments")),
        }
        if _field(form, "title"):
            spec["title"] = _field(form, "title")
        await self.ops.put_prompt(actor, slug, name, spec, _field(form, "version") or None)
        return self.back(request, f"prompt {name} saved")

    async def test_prompt(self, request: Request, actor: Actor) -> Response:
        """The live test (an HTMX fragment): the draft template rendered with the arguments given."""
        slug, name = request.path_params["org"], request.path_params["name"]
        form = await request.form()
        arguments = {
            key[4:]: str(value) for key, value in form.multi_items() if key.startswith("arg:") and value
        }
        draft = _field(form, "template") or None
        try:
            result = await self.ops.render_prompt(actor, slug, name, arguments, draft)
        except ApiProblem as problem:
            if problem.status in (401, 403):
                raise
            return self.render(request, actor, "render_result.html", {"problem": problem})
        return self.render(request, actor, "render_result.html", {"result": result})

    async def hide_prompt(self, request: Request, actor: Actor) -> Response:
        slug, name = request.path_params["org"], request.path_params["name"]
        await self.ops.hide_prompt(actor, slug, name, None)
        return self.back(request, f"prompt {name} hidden", f"/admin/orgs/{slug}/prompts")

    async def delete_prompt(self, request: Request, actor: Actor) -> Response:
        slug, name = request.path_params["org"], request.path_params["name"]
        await self.ops.delete_prompt(actor, slug, name, None)
        return self.back(request, f"prompt {name}: own version deleted", f"/admin/orgs/{slug}/prompts")

    # resources

    async def resources(self, request: Request, actor: Actor) -> Response:
        resources = await self.ops.list_resources(actor, request.path_params["org"])
        return self.render(request, actor, "resources.html", {"resources": paginate(request, resources)})

    async def save_resource(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        form = await request.form()
        uri = _field(form, "uri")
        if not uri:
            raise ApiProblem(422, "give the resource's URI", field="uri")
        spec = {"text": _field(form, "text"), "description": _field(form, "description")}
        if _field(form, "name"):
            spec["name"] = _field(form, "name")
        await self.ops.put_resource(actor, slug, uri, spec, None)
        return self.back(request, f"resource {uri} saved")

    async def hide_resource(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        uri = _field(await request.form(), "uri")
        await self.ops.hide_resource(actor, slug, uri, None)
        return self.back(request, f"resource {uri} hidden", f"/admin/orgs/{slug}/resources")

    async def delete_resource(self, request: Request, actor: Actor) -> Response:
        slug = request.path_params["org"]
        uri = _field(await request.form(), "uri")
        await self.ops.delete_resource(actor, slug, uri, None)
        return self.back(request, f"resource {uri}: own version deleted", f"/admin/orgs/{slug}/resources")

    # API keys

    async def keys(self, request: Request, actor: Actor, created: dict[str, Any] | None = None) -> Response:
        keys = await self.ops.list_keys(actor, request.path_params["org"])
        return self.render(request, actor, "keys.html", {"keys": paginate(request, keys), "created": created})

    async def create_key(self, request: Request, actor: Actor) -> Response:
        form = await request.form()
        spec: dict[str, Any] = {
            "role": _field(form, "role"),
            "name": _field(form, "name"),
            "permissions": [],
            "expires_in": _field(form, "expires_in") or None,
        }
        created = await self.ops.create_key(actor, request.path_params["org"], spec)
        # Shown in this answer only (no redirect: the key must not sit in a URL or be shown twice).
        response = await self.keys(request, actor, created)
        response.headers["cache-control"] = "no-store"
        return response

    async def revoke_key(self, request: Request, actor: Actor) -> Response:
        slug, key_id = request.path_params["org"], request.path_params["key_id"]
        await self.ops.revoke_key(actor, slug, key_id)
        return self.back(request, f"key {key_id} revoked", f"/admin/orgs/{slug}/keys")

    # audits

    async def audit(self, request: Request, actor: Actor) -> Response:
        return await self._audit(request, actor, "changes", AUDIT_FILTERS)

    async def calls(self, request: Request, actor: Actor) -> Response:
        return await self._audit(request, actor, "calls", CALL_FILTERS)

    async def export(self, request: Request, actor: Actor) -> Response:
        """`audit.csv`, `audit.jsonl`, `calls.csv`, `calls.jsonl`: every row matching the page's filters."""
        kind, form = request.path_params["kind"], request.path_params["form"]
        names = {"audit": AUDIT_FILTERS, "calls": CALL_FILTERS}.get(kind)
        if names is None or form not in ("csv", "jsonl"):
            raise ApiProblem(404, "exports are audit.csv, audit.jsonl, calls.csv and calls.jsonl")
        filters = {name: (request.query_params.get(name) or None) for name in names}
        slug = request.path_params["org"]
        lines = await self.ops.audit_export(
            actor, slug, "changes" if kind == "audit" else "calls", filters, form
        )
        media = "text/csv; charset=utf-8" if form == "csv" else "application/x-ndjson"
        disposition = f'attachment; filename="{slug}-{kind}.{form}"'
        return StreamingResponse(lines, media_type=media, headers={"content-disposition": disposition})

    async def _audit(self, request: Request, actor: Actor, kind: str, names: tuple[str, ...]) -> Response:
        query = request.query_params
        filters = {name: (query.get(name) or None) for name in names}
        cursor = query.get("cursor") or None
        if cursor is not None and not re.match(CURSOR, cursor):
            raise ApiProblem(422, "cursor is the next page link's, as given", field="cursor")
        rows, next_cursor = await self.ops.audit_page(
            actor, request.path_params["org"], kind, filters, PAGE_SIZE, cursor
        )
        next_link = None
        if next_cursor:
            next_link = "?" + urlencode({**{k: v for k, v in filters.items() if v}, "cursor": next_cursor})
        return self.render(
            request,
            actor,
            "audit.html" if kind == "changes" else "calls.html",
            {
                "rows": rows,
                "filters": filters,
                "next_link": next_link,
                "export_query": urlencode({k: v for k, v in filters.items() if v}),
            },
        )


def paginate(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of a list (`?page=N`, 50 a page) and the links to its neighbours."""
    raw = request.query_params.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    number = min(number, pages)
    start = (number - 1) * PAGE_SIZE
    return {
        "rows": rows[start : start + PAGE_SIZE],
        "number": number,
        "pages": pages,
        "previous": f"?page={number - 1}" if number > 1 else None,
        "next": f"?page={number + 1}" if number < pages else None,
    }


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _arguments(text: str) -> list[dict[str, Any]]:
    """One argument a line; a trailing * marks it required."""
    arguments = []
    for line in text.splitlines():
        name = line.strip()
        if name:
            arguments.append({"name": name.rstrip("*").strip(), "required": name.endswith("*")})
    return arguments


def _settings_from_form(form: FormData, schema: dict[str, Any]) -> dict[str, Any]:
    """Typed values of the fields filled in; an empty secret field keeps the stored secret."""
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("x-operator"):
            continue
        raw = form.get(f"setting:{name}")
        kind = prop.get("type")
        if kind == "boolean":
            values[name] = raw == "on"
            continue
        if not isinstance(raw, str) or raw == "":
            continue
        if kind == "integer":
            try:
                values[name] = int(raw)
            except ValueError:
                raise ApiProblem(422, f"{name} must be a whole number", field=f"settings.{name}") from None
        elif kind == "number":
            try:
                values[name] = float(raw)
            except ValueError:
                raise ApiProblem(422, f"{name} must be a number", field=f"settings.{name}") from None
        else:
            values[name] = raw
    return values
