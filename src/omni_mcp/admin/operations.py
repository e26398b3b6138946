"""What the admin can do, once, for both the REST API and the web UI: check the caller, then call the
same services the CLI uses (each write audited in its own transaction). Raises ApiProblem on refusal."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from omni_mcp.admin import audit_query
from omni_mcp.admin.access import Access
from omni_mcp.admin.problems import ApiProblem
from omni_mcp.audit.models import AuditLog, CallLog
from omni_mcp.auth import permissions as perm
from omni_mcp.auth.api_keys import ApiKeyService, parse_duration
from omni_mcp.capabilities.prompts import Prompt, PromptArgument, render_template, template_placeholders
from omni_mcp.capabilities.signatures import ArgumentsError
from omni_mcp.config.effective import OrgConfig, UnknownOrganization
from omni_mcp.context import Actor
from omni_mcp.tenancy import plugin_settings
from omni_mcp.tenancy.service import ConfigError, TenancyService, version_tag

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

T = TypeVar("T")
Versioned = tuple[dict[str, Any], str]


def actor_label(actor: Actor) -> str:
    """How the caller appears in the audit."""
    return actor.id if actor.kind == "api_key" else f"{actor.kind}:{actor.id}"[:200]


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking) service call in a worker thread; a refused change becomes a problem answer."""
    try:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
    except ConfigError as error:
        raise ApiProblem.from_config_error(error) from None


class AdminOperations:
    def __init__(self, runtime: Runtime, keys: ApiKeyService) -> None:
        self.runtime = runtime
        self.access = Access(runtime)
        self.keys = keys

    @property
    def tenancy(self) -> TenancyService:
        return self.runtime.tenancy

    # callers and organizations

    async def me(self, actor: Actor | None) -> dict[str, Any]:
        if actor is None:
            raise ApiProblem(401, "sign in, or send an API key or bearer token")
        operator = await self.access.is_operator(actor)
        return {
            "id": actor.id,
            "organization": actor.organization,
            "role": actor.role,
            "kind": actor.kind,
            "operator": operator,
        }

    async def list_organizations(self, actor: Actor | None) -> list[dict[str, Any]]:
        caller = await self.access.require(actor, perm.SERVICES_MANAGE)
        rows = await in_thread(self.tenancy.list_organizations)
        if await self.access.is_operator(caller):
            return rows
        return [row for row in rows if row["slug"] == caller.organization]

    async def create_organization(self, actor: Actor | None, slug: str, name: str | None) -> Versioned:
        caller = await self.access.require(actor, perm.ORGANIZATIONS_MANAGE)
        view = await in_thread(self.tenancy.create_organization, slug, name, actor=actor_label(caller))
        return view, version_tag(view)

    async def get_organization(self, actor: Actor | None, slug: str) -> Versioned:
        await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        view = await in_thread(self.tenancy.get_organization, slug)
        return view, version_tag(view)

    async def update_organization(
        self, actor: Actor | None, slug: str, changes: dict[str, Any], if_match: str | None
    ) -> Versioned:
        caller = await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        view = await in_thread(
            self.tenancy.update_organization,
            slug,
            name=changes.get("name"),
            audit_arguments=changes.get("audit_arguments"),
            actor=actor_label(caller),
            if_match=if_match,
        )
        return view, version_tag(view)

    async def delete_organization(self, actor: Actor | None, slug: str, if_match: str | None) -> None:
        caller = await self.access.require(actor, perm.ORGANIZATIONS_MANAGE)
        await in_thread(self.tenancy.delete_organization, slug, actor=actor_label(caller), if_match=if_match)

    # members

    async def list_members(self, actor: Actor | None, slug: str) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        return await in_thread(self.tenancy.list_members, slug)

    async def get_member(self, actor: Actor | None, slug: str, user: str) -> Versioned:
        await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        view = await in_thread(self.tenancy.get_member, slug, user)
        if view is None:
            raise ApiProblem(404, f"{user!r} is not a member of {slug!r}", field="user")
        return view, version_tag(view)

    async def put_member(
        self,
        actor: Actor | None,
        slug: str,
        user: str,
        role: str,
        permissions: list[str],
        if_match: str | None,
    ) -> Versioned:
        caller = await self.access.require(actor, perm.MEMBERS_MANAGE, slug)
        unknown = [p for p in permissions if p not in perm.ALL_PERMISSIONS]
        if unknown:
            raise ApiProblem(422, f"unknown permission {unknown[0]!r}", field="permissions")
        await self.access.may_grant(caller, role, permissions)
        view = await in_thread(
            self.tenancy.add_member,
            slug,
            user,
            role,
            permissions=permissions,
            actor=actor_label(caller),
            if_match=if_match,
        )
        return view, version_tag(view)

    async def delete_member(self, actor: Actor | None, slug: str, user: str, if_match: str | None) -> None:
        caller = await self.access.require(actor, perm.MEMBERS_MANAGE, slug)
        await in_thread(self.tenancy.remove_member, slug, user, actor=actor_label(caller), if_match=if_match)

    # services

    async def list_services(self, actor: Actor | None, slug: str) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        rows = await in_thread(self.tenancy.list_services, slug)
        return [self._with_schema(row) for row in rows]

    async def get_service(self, actor: Actor | None, slug: str, server: str) -> Versioned:
        for row in await self.list_services(actor, slug):
            if row["server"] == server:
                return row, version_tag(_unversioned(row))
        raise ApiProblem(404, f"unknown server {server!r}", field="server")

    async def put_service(
        self,
        actor: Actor | None,
        slug: str,
        server: str,
        enabled: bool | None,
        settings: dict[str, Any] | None,
        if_match: str | None,
    ) -> Versioned:
        caller = await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        who = actor_label(caller)
        view: dict[str, Any] | None = None
        if settings:
            view = await in_thread(
                self.tenancy.set_service_settings, slug, server, settings, actor=who, if_match=if_match
            )
            if_match = None  # checked once, in the first change
        if enabled is not None:
            view = await in_thread(
                self.tenancy.set_service_enabled, slug, server, enabled, actor=who, if_match=if_match
            )
        if view is None:
            return await self.get_service(actor, slug, server)
        return self._with_schema(view), version_tag(view)

    def _with_schema(self, row: dict[str, Any]) -> dict[str, Any]:
        known = self.tenancy.servers.get(row["server"])
        model = known.settings_model if known else None
        schema = None
        if model is not None:
            schema = model.model_json_schema()
            secrets = plugin_settings.secret_fields(model)
            fixed = plugin_settings.fixed_fields(
                model, self.runtime.settings.plugins.settings.get(row["server"], {})
            )
            for name, prop in schema.get("properties", {}).items():
                prop["x-secret"] = name in secrets
                prop["x-operator"] = name in fixed
        return {**row, "settings_schema": schema}

    # prompts

    async def _config(self, slug: str) -> OrgConfig:
        try:
            return await self.runtime.org_configs.get(slug)
        except UnknownOrganization:
            raise ApiProblem(404, f"no organization {slug!r}") from None

    async def list_prompts(self, actor: Actor | None, slug: str) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.PROMPTS_WRITE, slug)
        config = await self._config(slug)
        own = await in_thread(self.tenancy.own_prompts, slug)
        entries = [self._prompt_entry(name, config, own.get(name)) for name in sorted(config.prompts)]
        entries += [
            self._prompt_entry(name, config, row) for name, row in sorted(own.items()) if row["hidden"]
        ]
        return entries

    def _prompt_entry(self, name: str, config: OrgConfig, own: dict[str, Any] | None) -> dict[str, Any]:
        default = self.runtime.capabilities.prompts.get(name)
        default_template = default.item.template if default is not None else None
        owned = config.prompts.get(name)
        if own is not None and own["hidden"]:
            return {
                "name": name,
                "source": "hidden",
                "server": default.plugin if default else None,
                "default_template": default_template,
            }
        assert owned is not None
        prompt: Prompt = owned.item
        source = "default" if own is None else ("override" if owned.plugin else "organization")
        return {
            "name": name,
            "source": source,
            "server": owned.plugin,
            "title": prompt.title,
            "description": prompt.description,
            "arguments": [
                {"name": a.name, "description": a.description, "required": a.required}
                for a in prompt.arguments
            ],
            "template": prompt.template,
            "default_template": default_template,
        }

    async def get_prompt(self, actor: Actor | None, slug: str, name: str) -> Versioned:
        await self.access.require(actor, perm.PROMPTS_WRITE, slug)
        config = await self._config(slug)
        own = await in_thread(self.tenancy.own_prompt, slug, name)
        if name not in config.prompts and own is None:
            raise ApiProblem(404, f"no prompt named {name!r}", field="name")
        return self._prompt_entry(name, config, own), version_tag(own)

    async def put_prompt(
        self, actor: Actor | None, slug: str, name: str, spec: dict[str, Any], if_match: str | None
    ) -> Versioned:
        caller = await self.access.require(actor, perm.PROMPTS_WRITE, slug)
        if not 1 <= len(name) <= 200:
            raise ApiProblem(422, "a prompt name is 1 to 200 characters", field="name")
        view = await in_thread(
            self.tenancy.set_prompt, slug, name, spec, actor=actor_label(caller), if_match=if_match
        )
        return view, version_tag(view)

    async def hide_prompt(self, actor: Actor | None, slug: str, name: str, if_match: str | None) -> Versioned:
        caller = await self.access.require(actor, perm.PROMPTS_WRITE, slug)
        view = await in_thread(
            self.tenancy.hide_prompt, slug, name, actor=actor_label(caller), if_match=if_match
        )
        return view, version_tag(view)

    async def delete_prompt(self, actor: Actor | None, slug: str, name: str, if_match: str | None) -> None:
        caller = await self.access.require(actor, perm.PROMPTS_WRITE, slug)
        await in_thread(self.tenancy.delete_prompt, slug, name, actor=actor_label(caller), if_match=if_match)

    async def render_prompt(
        self, actor: Actor | None, slug: str, name: str, arguments: dict[str, str], draft: str | None
    ) -> dict[str, Any]:
        """Render with these arguments, no tool called: the saved prompt, or a draft of its template."""
        await self.access.require(actor, perm.PROMPTS_WRITE, slug)
        config = await self._config(slug)
        owned = config.prompts.get(name)
        default = self.runtime.capabilities.prompts.get(name)
        if owned is None and draft is None:
            raise ApiProblem(404, f"no prompt named {name!r}", field="name")
        current: Prompt | None = owned.item if owned else None
        if draft is not None:
            declared = {a.name: a for a in current.arguments} if current else {}
            names = sorted(template_placeholders(draft) | set(declared))
            arguments_of = tuple(declared.get(n, PromptArgument(n)) for n in names)
            try:
                current = Prompt(name, template=draft, arguments=arguments_of)
            except ValueError as error:
                raise ApiProblem(422, str(error), field="template") from None
        assert current is not None
        if current.template is None:
            raise ApiProblem(
                422,
                f"prompt {name!r} is rendered by its plugin's code; try it from an MCP client",
                field="name",
            )
        messages = [{"role": "user", "text": _render(current, arguments)}]
        result: dict[str, Any] = {"messages": messages, "default_messages": None, "diff": ""}
        if default is not None and default.item.template is not None:
            try:
                default_text = _render(default.item, arguments)
            except ApiProblem:
                default_text = default.item.template
            result["default_messages"] = [{"role": "user", "text": default_text}]
            result["diff"] = "\n".join(
                difflib.unified_diff(
                    default_text.splitlines(),
                    messages[0]["text"].splitlines(),
                    "default",
                    "this organization",
                    lineterm="",
                )
            )
        return result

    # resources

    async def list_resources(self, actor: Actor | None, slug: str) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.RESOURCES_WRITE, slug)
        config = await self._config(slug)
        own = await in_thread(self.tenancy.own_resources, slug)
        entries = [self._resource_entry(uri, config, own.get(uri)) for uri in sorted(config.resources)]
        entries += [
            self._resource_entry(uri, config, row) for uri, row in sorted(own.items()) if row["hidden"]
        ]
        return entries

    def _resource_entry(self, uri: str, config: OrgConfig, own: dict[str, Any] | None) -> dict[str, Any]:
        default = self.runtime.capabilities.resources.get(uri)
        if own is not None and own["hidden"]:
            return {"uri": uri, "source": "hidden", "server": default.plugin if default else None}
        owned = config.resources[uri]
        item = owned.item
        if own is None:
            source = "dynamic" if item.text is None else "default"
        else:
            source = "override" if owned.plugin else "organization"
        return {
            "uri": uri,
            "source": source,
            "server": owned.plugin,
            "name": item.name,
            "title": item.title,
            "description": item.description,
            "mime_type": item.mime_type,
            "text": item.text,
        }

    async def get_resource(self, actor: Actor | None, slug: str, uri: str) -> Versioned:
        await self.access.require(actor, perm.RESOURCES_WRITE, slug)
        config = await self._config(slug)
        own = await in_thread(self.tenancy.own_resource, slug, uri)
        if uri not in config.resources and own is None:
            raise ApiProblem(404, f"no resource at {uri!r}", field="uri")
        return self._resource_entry(uri, config, own), version_tag(own)

    async def put_resource(
        self, actor: Actor | None, slug: str, uri: str, spec: dict[str, Any], if_match: str | None
    ) -> Versioned:
        caller = await self.access.require(actor, perm.RESOURCES_WRITE, slug)
        spec = {k: v for k, v in spec.items() if v is not None}
        view = await in_thread(
            self.tenancy.set_resource, slug, uri, spec, actor=actor_label(caller), if_match=if_match
        )
        return view, version_tag(view)

    async def hide_resource(
        self, actor: Actor | None, slug: str, uri: str, if_match: str | None
    ) -> Versioned:
        caller = await self.access.require(actor, perm.RESOURCES_WRITE, slug)
        config = await self._config(slug)
        own = await in_thread(self.tenancy.own_resource, slug, uri)
        if uri not in config.resources and own is None:
            raise ApiProblem(404, f"no resource at {uri!r} to hide", field="uri")
        view = await in_thread(
            self.tenancy.hide_resource, slug, uri, actor=actor_label(caller), if_match=if_match
        )
        return view, version_tag(view)

    async def delete_resource(self, actor: Actor | None, slug: str, uri: str, if_match: str | None) -> None:
        caller = await self.access.require(actor, perm.RESOURCES_WRITE, slug)
        await in_thread(self.tenancy.delete_resource, slug, uri, actor=actor_label(caller), if_match=if_match)

    # API keys

    async def list_keys(self, actor: Actor | None, slug: str) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.APIKEYS_MANAGE, slug)
        return await in_thread(self.keys.list_keys, slug)

    async def create_key(self, actor: Actor | None, slug: str, spec: dict[str, Any]) -> dict[str, Any]:
        caller = await self.access.require(actor, perm.APIKEYS_MANAGE, slug)
        await self.access.may_grant(caller, spec["role"], list(spec.get("permissions") or []))
        try:
            expires = parse_duration(spec["expires_in"]) if spec.get("expires_in") else None
        except ConfigError as error:
            raise ApiProblem(422, str(error), field="expires_in") from None
        created = await in_thread(
            self.keys.create,
            slug,
            role=spec["role"],
            actor=actor_label(caller),
            permissions=spec.get("permissions") or [],
            tools=spec.get("tools"),
            prompts=spec.get("prompts"),
            resources=spec.get("resources"),
            servers=spec.get("servers"),
            expires_in=expires,
            name=spec.get("name") or "",
        )
        return {"key": created.key, "api_key": created.view, "warnings": created.warnings}

    async def revoke_key(self, actor: Actor | None, slug: str, key_id: str) -> dict[str, Any]:
        caller = await self.access.require(actor, perm.APIKEYS_MANAGE, slug)
        keys = await in_thread(self.keys.list_keys, slug)
        if not any(key["id"] == key_id for key in keys):  # another organization's key is not found here
            raise ApiProblem(404, f"no API key {key_id} in {slug!r}", field="key_id")
        return await in_thread(self.keys.revoke, key_id, actor=actor_label(caller))

    # audits

    async def audit_page(
        self,
        actor: Actor | None,
        slug: str,
        kind: str,
        filters: dict[str, Any],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self.access.require(actor, perm.AUDIT_READ, slug)
        org_id = await in_thread(self.tenancy.organization_id, slug)
        model = AuditLog if kind == "changes" else CallLog
        return await in_thread(
            audit_query.page,
            self.runtime.engine,
            model,
            org_id,
            filters,
            limit,
            cursor or None,
        )

    async def audit_export(
        self, actor: Actor | None, slug: str, kind: str, filters: dict[str, Any], form: str
    ) -> Iterator[str]:
        await self.access.require(actor, perm.AUDIT_READ, slug)
        org_id = await in_thread(self.tenancy.organization_id, slug)
        model = AuditLog if kind == "changes" else CallLog
        return audit_query.export(self.runtime.engine, model, org_id, filters, form)

    # plugins and tools

    async def plugins(self, actor: Actor | None) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.SERVICES_MANAGE)
        states = await self.runtime.check_health()
        return [
            {
                "name": name,
                "version": state.info.version,
                "source": state.info.source,
                "status": state.health.status,
                "detail": state.health.detail,
                "serving": not state.withheld,
            }
            for name, state in states.items()
        ]

    async def tools(self, actor: Actor | None, slug: str) -> list[dict[str, Any]]:
        await self.access.require(actor, perm.SERVICES_MANAGE, slug)
        config = await self._config(slug)
        owners = self.runtime.capabilities.tools
        return [
            {
                "name": tool.name,
                "title": tool.title,
                "description": tool.description,
                "server": owners[tool.name].plugin if tool.name in owners else "",
            }
            for tool in config.listings.tools
        ]


def _render(prompt: Prompt, arguments: dict[str, str]) -> str:
    try:
        checked = prompt.check_arguments(arguments)
    except ArgumentsError as error:
        raise ApiProblem(422, str(error), field="arguments") from None
    assert prompt.template is not None
    return render_template(prompt.template, checked)


def _unversioned(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "settings_schema"}
