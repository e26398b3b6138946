"""The one way configuration changes: organizations, members, services, prompts and resources.

The CLI uses it today and the admin API will tomorrow. Every write validates first, runs in one
transaction with its audit row, and announces the change so caches everywhere drop that organization.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from omni_mcp.audit.record import record_change
from omni_mcp.capabilities.prompts import Prompt, PromptArgument
from omni_mcp.capabilities.validation import (
    InvalidName,
    check_prompt_name,
    check_resource_uri,
    check_template_size,
)
from omni_mcp.config.defaults import prompt_arguments_json
from omni_mcp.config.models import DefaultPrompt, OrganizationPrompt, OrganizationResource
from omni_mcp.db.models import McpServer, utcnow
from omni_mcp.db.scoping import org_session
from omni_mcp.security.secrets import SecretBox
from omni_mcp.tenancy import plugin_settings
from omni_mcp.tenancy.models import ROLES, Organization, OrganizationMembership, OrganizationService, User

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


class ConfigError(ValueError):
    """A change was refused; the message is one line saying why, `field` the input it is about (if one)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ConfigError):
    """The organization, member, server, prompt, resource or key named does not exist."""


class AlreadyExists(ConfigError):
    """Creating something that is already there."""


class StaleVersion(ConfigError):
    """The caller edited a version (ETag) that is no longer the current one: someone changed it since."""


def version_tag(view: Mapping[str, Any] | None) -> str:
    """The ETag of an entity's current view (None: it does not exist yet); any change of it changes this."""
    encoded = json.dumps(view, sort_keys=True, default=str, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(encoded).hexdigest()[:20] + '"'


def check_version(view: Mapping[str, Any] | None, if_match: str | None) -> None:
    """Refuse an edit whose If-Match is not the current version (checked inside the change's transaction)."""
    if if_match is None or (if_match.strip() == "*" and view is not None):
        return
    if version_tag(view) not in {tag.strip().removeprefix("W/") for tag in if_match.split(",")}:
        raise StaleVersion(
            "changed by someone else since you read it; reload and edit again", field="If-Match"
        )


@dataclass(frozen=True)
class KnownServer:
    """An installed plugin that may be enabled for organizations."""

    name: str
    version: str
    settings_model: type[BaseModel] | None = None


class TenancyService:
    def __init__(
        self,
        engine: Engine,
        secrets: SecretBox,
        servers: Mapping[str, KnownServer],
        announce: Callable[[Session, str], None] | None = None,
        after_commit: Callable[[str], None] | None = None,
        servers_enabled_by_default: bool = True,
        code_prompts: Callable[[], set[str]] = set,
        operator_settings: Mapping[str, Mapping[str, Any]] | None = None,
        max_template_chars: int | None = None,
        protected_organization: str | None = None,
    ) -> None:
        """`announce` runs inside each change's transaction, `after_commit` once it committed.

        `code_prompts` names the prompts plugins render in code (they are not in the default table);
        `operator_settings` are the operator's plugin settings, which organizations cannot change.
        """
        self._operator_settings = operator_settings or {}
        self._max_template_chars = max_template_chars
        self._protected_organization = protected_organization
        self.engine = engine
        self._code_prompts = code_prompts
        self._default_enabled = servers_enabled_by_default
        self.secrets = secrets
        self.servers = dict(servers)
        self._announce = announce or (lambda _session, _slug: None)
        self._after_commit = after_commit or (lambda _slug: None)

    # organizations and members

    def create_organization(self, slug: str, name: str | None = None, *, actor: str) -> dict[str, Any]:
        if not SLUG_PATTERN.match(slug):
            raise ConfigError(
                f"invalid organization slug {slug!r}: use lowercase letters, digits and '-'", field="slug"
            )
        with Session(self.engine) as session:
            if session.exec(select(Organization).where(Organization.slug == slug)).first():
                raise AlreadyExists(f"organization {slug!r} already exists", field="slug")
            org = Organization(slug=slug, name=name or slug)
            session.add(org)
            session.flush()
            after = _org_view(org)
            record_change(
                session,
                actor=actor,
                organization_id=org.id,
                entity_type="organization",
                entity_id=slug,
                action="create",
                after=after,
            )
            self._commit(session, slug)
        return after

    def ensure_organization(self, slug: str, *, actor: str) -> None:
        """Create the organization unless it exists (the default organization on first start)."""
        # IntegrityError: another process created it at the same moment.
        with contextlib.suppress(AlreadyExists, IntegrityError):
            self.create_organization(slug, actor=actor)

    def set_audit_arguments(self, slug: str, enabled: bool, *, actor: str) -> dict[str, Any]:
        """Whether the call audit keeps this organization's call arguments (off: names only)."""
        return self.update_organization(slug, audit_arguments=enabled, actor=actor)

    def update_organization(
        self,
        slug: str,
        *,
        name: str | None = None,
        audit_arguments: bool | None = None,
        actor: str,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """Rename and/or switch argument auditing; None leaves a field as it is."""
        if name is not None and not 1 <= len(name.strip()) <= 200:
            raise ConfigError("an organization's name is 1 to 200 characters", field="name")
        org_id = self._org_id(slug)
        with Session(self.engine) as session:
            org = session.get(Organization, org_id)
            assert org is not None
            before = _org_view(org)
            check_version(before, if_match)
            if name is not None:
                org.name = name.strip()
            if audit_arguments is not None:
                org.audit_arguments = audit_arguments
            session.add(org)
            after = _org_view(org)
            if audit_arguments is not None and name is None:
                action = "audit_arguments_on" if audit_arguments else "audit_arguments_off"
            else:
                action = "update"
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="organization",
                entity_id=slug,
                action=action,
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def delete_organization(self, slug: str, *, actor: str, if_match: str | None = None) -> dict[str, Any]:
        """Delete the organization and everything it owns (members, services, prompts, keys, calls).

        Its audit rows stay (their organization becomes none); the deletion itself is audited too.
        """
        if slug == self._protected_organization:
            raise ConfigError(f"{slug!r} is the default organization and cannot be deleted", field="slug")
        org_id = self._org_id(slug)
        with Session(self.engine) as session:
            org = session.get(Organization, org_id)
            assert org is not None
            before = _org_view(org)
            check_version(before, if_match)
            _delete_owned_rows(session, org_id)
            session.delete(org)
            record_change(
                session,
                actor=actor,
                organization_id=None,
                entity_type="organization",
                entity_id=slug,
                action="delete",
                before=before,
            )
            self._commit(session, slug)
        return before

    def get_organization(self, slug: str) -> dict[str, Any]:
        org_id = self._org_id(slug)
        with Session(self.engine) as session:
            org = session.get(Organization, org_id)
            assert org is not None
            return _org_view(org)

    def list_organizations(self) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            return [_org_view(org) for org in session.exec(select(Organization).order_by(Organization.slug))]

    def add_member(
        self,
        slug: str,
        user: str,
        role: str,
        *,
        permissions: list[str] | None = None,
        actor: str,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        if role not in ROLES:
            raise ConfigError(f"invalid role {role!r}: use one of {', '.join(ROLES)}", field="role")
        if not user or len(user) > 200:
            raise ConfigError("a user id is 1 to 200 characters", field="user")
        org_id = self._org_id(slug)
        with org_session(self.engine, org_id) as session:
            account = session.exec(select(User).where(User.external_id == user)).first()
            if account is None:
                account = User(external_id=user)
                session.add(account)
                session.flush()
            membership = session.exec(
                select(OrganizationMembership).where(OrganizationMembership.user_id == account.id)
            ).first()
            before = _membership_view(membership, user) if membership else None
            check_version(before, if_match)
            if membership is None:
                assert account.id is not None
                membership = OrganizationMembership(organization_id=org_id, user_id=account.id, role=role)
            membership.role = role
            membership.permissions = sorted(set(permissions or []))
            session.add(membership)
            after = _membership_view(membership, user)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="membership",
                entity_id=user,
                action="update" if before else "create",
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def remove_member(
        self, slug: str, user: str, *, actor: str, if_match: str | None = None
    ) -> dict[str, Any]:
        org_id = self._org_id(slug)
        with org_session(self.engine, org_id) as session:
            found = self._membership(session, slug, user)
            before = _membership_view(found, user)
            check_version(before, if_match)
            session.delete(found)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="membership",
                entity_id=user,
                action="delete",
                before=before,
            )
            self._commit(session, slug)
        return before

    def get_member(self, slug: str, user: str) -> dict[str, Any] | None:
        with org_session(self.engine, self._org_id(slug)) as session:
            found = session.exec(
                select(OrganizationMembership).join(User).where(User.external_id == user)
            ).first()
            return _membership_view(found, user) if found else None

    # users (as the identity provider reports them)

    def upsert_user(
        self, external_id: str, *, email: str | None, name: str | None, actor: str
    ) -> dict[str, Any]:
        if not external_id or len(external_id) > 200:
            raise ConfigError("a user id is 1 to 200 characters", field="user")
        with Session(self.engine) as session:
            user = session.exec(select(User).where(User.external_id == external_id)).first()
            before = _user_view(user) if user else None
            user = user or User(external_id=external_id)
            user.email = email[:320] if email else None
            user.name = name[:200] if name else None
            session.add(user)
            after = _user_view(user)
            if before != after:
                record_change(
                    session,
                    actor=actor,
                    organization_id=None,
                    entity_type="user",
                    entity_id=external_id,
                    action="update" if before else "create",
                    before=before,
                    after=after,
                )
            session.commit()
        return after

    def delete_user(self, external_id: str, *, actor: str) -> list[str]:
        """Remove the user and every membership (each audited in its organization); returns those slugs."""
        with Session(self.engine) as session:
            user = session.exec(select(User).where(User.external_id == external_id)).first()
            if user is None:
                raise NotFound(f"no user {external_id!r}", field="user")
            rows = session.exec(
                select(OrganizationMembership, Organization)
                .join(Organization, Organization.id == OrganizationMembership.organization_id)  # type: ignore[arg-type]
                .where(OrganizationMembership.user_id == user.id)
            ).all()
            slugs = []
            for membership, org in rows:
                record_change(
                    session,
                    actor=actor,
                    organization_id=org.id,
                    entity_type="membership",
                    entity_id=external_id,
                    action="delete",
                    before=_membership_view(membership, external_id),
                )
                session.delete(membership)
                slugs.append(org.slug)
            record_change(
                session,
                actor=actor,
                organization_id=None,
                entity_type="user",
                entity_id=external_id,
                action="delete",
                before=_user_view(user),
            )
            session.delete(user)
            for slug in slugs:
                self._announce(session, slug)
            session.commit()
        for slug in slugs:
            self._after_commit(slug)
        return slugs

    def list_members(self, slug: str) -> list[dict[str, Any]]:
        with org_session(self.engine, self._org_id(slug)) as session:
            rows = session.exec(select(OrganizationMembership, User).join(User)).all()
            return [_membership_view(m, u.external_id) for m, u in rows]

    # renaming and deleting organizations, removing members and changing roles

    def rename_organization(
        self, slug: str, new_slug: str, *, name: str | None = None, actor: str
    ) -> dict[str, Any]:
        """Give the organization a new slug (and, optionally, display name); its data stays with it."""
        if not SLUG_PATTERN.match(new_slug):
            raise ConfigError(
                f"invalid organization slug {new_slug!r}: use lowercase letters, digits and '-'"
            )
        org_id = self._org_id(slug)
        with Session(self.engine) as session:
            if (
                new_slug != slug
                and session.exec(select(Organization).where(Organization.slug == new_slug)).first()
            ):
                raise ConfigError(f"organization {new_slug!r} already exists")
            org = session.get(Organization, org_id)
            assert org is not None
            before = _org_view(org)
            org.slug = new_slug
            if name is not None or org.name == slug:  # a name that was only the old slug follows it
                org.name = name or new_slug
            session.add(org)
            after = _org_view(org)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="organization",
                entity_id=new_slug,
                action="rename",
                before=before,
                after=after,
            )
            self._announce(session, new_slug)
            self._commit(session, slug)  # clients and keys cached under the old slug go too
            self._after_commit(new_slug)
        return after

    def set_member_role(self, slug: str, user: str, role: str, *, actor: str) -> dict[str, Any]:
        """Change a member's role, keeping their extra permissions."""
        if role not in ROLES:
            raise ConfigError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
        org_id = self._org_id(slug)
        with org_session(self.engine, org_id) as session:
            membership = self._membership(session, slug, user)
            before = _membership_view(membership, user)
            membership.role = role
            session.add(membership)
            after = _membership_view(membership, user)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="membership",
                entity_id=user,
                action="role",
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def _membership(self, session: Session, slug: str, user: str) -> OrganizationMembership:
        found = session.exec(
            select(OrganizationMembership).join(User).where(User.external_id == user)
        ).first()
        if found is None:
            raise NotFound(f"{user!r} is not a member of organization {slug!r}", field="user")
        return found

    # services

    def set_service_enabled(
        self, slug: str, server: str, enabled: bool, *, actor: str, if_match: str | None = None
    ) -> dict[str, Any]:
        org_id = self._org_id(slug)
        with org_session(self.engine, org_id) as session:
            row = self._service_row(session, org_id, server)
            before = _service_view(row, server)
            check_version(before, if_match)
            row.enabled = enabled
            row.updated_at = utcnow()
            session.add(row)
            after = _service_view(row, server)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="service",
                entity_id=server,
                action="enable" if enabled else "disable",
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def set_service_settings(
        self, slug: str, server: str, updates: dict[str, Any], *, actor: str, if_match: str | None = None
    ) -> dict[str, Any]:
        """Merge `updates` into the stored settings, validate the whole against the plugin's model, store."""
        known = self._known(server)
        if known.settings_model is None:
            raise ConfigError(f"server {server!r} has no settings", field="settings")
        model = known.settings_model
        unknown = sorted(set(updates) - set(model.model_fields))
        if unknown:
            fields = ", ".join(model.model_fields)
            raise ConfigError(
                f"unknown setting {unknown[0]!r} for {server}; its settings are: {fields}",
                field=f"settings.{unknown[0]}",
            )
        operator = self._operator_settings.get(server, {})
        fixed = plugin_settings.fixed_fields(model, operator)
        refused = sorted(set(updates) & fixed)
        if refused:
            raise ConfigError(
                f"setting {refused[0]!r} of {server} is the operator's, the same for every organization "
                f"(set it under [plugins.settings.{server}] in the configuration file)",
                field=f"settings.{refused[0]}",
            )
        org_id = self._org_id(slug)
        with org_session(self.engine, org_id) as session:
            row = self._service_row(session, org_id, server)
            check_version(_service_view(row, server), if_match)
            current = plugin_settings.decode_plain(row.settings, self.secrets)
            values = plugin_settings.with_operator_values(model, {**current, **updates}, operator)
            try:
                validated = plugin_settings.validate_settings(model, values, server)
            except plugin_settings.SettingsValidationError as error:
                raise ConfigError(str(error), field=_first_field(str(error))) from None
            before = _service_view(row, server)
            encoded = plugin_settings.encode(model, validated, self.secrets)
            row.settings = {name: value for name, value in encoded.items() if name not in fixed}
            row.updated_at = utcnow()
            session.add(row)
            after = _service_view(row, server)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="service_settings",
                entity_id=server,
                action="update",
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def list_services(self, slug: str) -> list[dict[str, Any]]:
        org_id = self._org_id(slug)
        default_enabled = self._default_enabled
        with org_session(self.engine, org_id) as session:
            rows = {
                server.name: service
                for service, server in session.exec(
                    select(OrganizationService, McpServer).join(McpServer)
                ).all()
            }
            views = []
            for name in sorted(set(self.servers) | set(rows)):
                row = rows.get(name)
                views.append(
                    _service_view(row, name)
                    if row
                    else {"server": name, "enabled": default_enabled, "settings": {}}
                )
            return views

    # prompts

    def set_prompt(
        self, slug: str, name: str, spec: Mapping[str, Any], *, actor: str, if_match: str | None = None
    ) -> dict[str, Any]:
        """Add an org prompt, or override the default of that name; `spec` is the documented file format."""
        prompt = _prompt_from_spec(name, spec)
        if self._max_template_chars is not None and prompt.template is not None:
            _checked(check_template_size, name, prompt.template, self._max_template_chars)

        def change(row: Any) -> None:
            row.hidden = False
            row.title = prompt.title
            row.description = prompt.description
            row.arguments = prompt_arguments_json(prompt)
            row.template = prompt.template

        return self._write_own(
            slug, OrganizationPrompt, "name", name, _prompt_view, change, actor=actor, if_match=if_match
        )

    def hide_prompt(self, slug: str, name: str, *, actor: str, if_match: str | None = None) -> dict[str, Any]:
        _checked(check_prompt_name, name)

        def check(session: Session, row: Any) -> None:
            exists = (
                name in self._code_prompts()
                or session.exec(select(DefaultPrompt.id).where(DefaultPrompt.name == name)).first()
            )
            if not exists and row is None:
                raise NotFound(f"no prompt named {name!r} to hide", field="name")

        return self._write_own(
            slug,
            OrganizationPrompt,
            "name",
            name,
            _prompt_view,
            _hide,
            actor=actor,
            action="hide",
            check=check,
            if_match=if_match,
        )

    def delete_prompt(self, slug: str, name: str, *, actor: str, if_match: str | None = None) -> None:
        """Remove the org's own row: an addition disappears, an override or hidden default comes back."""
        missing = f"organization {slug!r} has no prompt of its own named {name!r}"
        self._delete_own(
            slug, OrganizationPrompt, "name", name, _prompt_view, missing, actor=actor, if_match=if_match
        )

    def own_prompt(self, slug: str, name: str) -> dict[str, Any] | None:
        """The organization's own row for prompt `name` (override, addition or hidden), if it has one."""
        return self._read_own(slug, OrganizationPrompt, "name", name, _prompt_view)

    def own_resource(self, slug: str, uri: str) -> dict[str, Any] | None:
        return self._read_own(slug, OrganizationResource, "uri", uri, _resource_view)

    def own_prompts(self, slug: str) -> dict[str, dict[str, Any]]:
        """Every prompt row of the organization's own (overrides, additions, hidden), by name."""
        with org_session(self.engine, self._org_id(slug)) as session:
            return {row.name: _prompt_view(row) for row in session.exec(select(OrganizationPrompt))}

    def own_resources(self, slug: str) -> dict[str, dict[str, Any]]:
        with org_session(self.engine, self._org_id(slug)) as session:
            return {row.uri: _resource_view(row) for row in session.exec(select(OrganizationResource))}

    # resources

    def set_resource(
        self, slug: str, uri: str, spec: Mapping[str, Any], *, actor: str, if_match: str | None = None
    ) -> dict[str, Any]:
        _checked(check_resource_uri, uri)
        text = spec.get("text")
        if not isinstance(text, str):
            raise ConfigError("a resource needs 'text' (a string)", field="text")
        _check_keys(spec, {"name", "title", "description", "mime_type", "text"}, "resource")

        def change(row: Any) -> None:
            row.hidden = False
            row.name = str(spec.get("name") or uri.rsplit("/", 1)[-1] or uri)
            row.title = spec.get("title")
            row.description = str(spec.get("description", ""))
            row.mime_type = str(spec.get("mime_type", "text/plain"))
            row.text = text

        return self._write_own(
            slug, OrganizationResource, "uri", uri, _resource_view, change, actor=actor, if_match=if_match
        )

    def hide_resource(
        self, slug: str, uri: str, *, actor: str, if_match: str | None = None
    ) -> dict[str, Any]:
        _checked(check_resource_uri, uri)
        return self._write_own(
            slug,
            OrganizationResource,
            "uri",
            uri,
            _resource_view,
            _hide,
            actor=actor,
            action="hide",
            if_match=if_match,
        )

    def delete_resource(self, slug: str, uri: str, *, actor: str, if_match: str | None = None) -> None:
        missing = f"organization {slug!r} has no resource of its own at {uri!r}"
        self._delete_own(
            slug, OrganizationResource, "uri", uri, _resource_view, missing, actor=actor, if_match=if_match
        )

    # the org's own prompt and resource rows, written one way

    def _write_own(
        self,
        slug: str,
        model: type[OrganizationPrompt] | type[OrganizationResource],
        key: str,
        value: str,
        view: Callable[[Any], dict[str, Any]],
        change: Callable[[Any], None],
        *,
        actor: str,
        action: str | None = None,
        check: Callable[[Session, Any], None] | None = None,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """Create or change the organization's row for `value`, with its audit row, in one transaction."""
        org_id = self._org_id(slug)
        entity = "prompt" if model is OrganizationPrompt else "resource"
        with org_session(self.engine, org_id) as session:
            row = session.exec(select(model).where(getattr(model, key) == value)).first()
            if check is not None:
                check(session, row)
            before = view(row) if row else None
            check_version(before, if_match)
            if row is None:
                row = model.model_validate({"organization_id": org_id, key: value})
            change(row)
            row.updated_at = utcnow()
            session.add(row)
            after = view(row)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type=entity,
                entity_id=value,
                action=action or ("update" if before else "create"),
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def _delete_own(
        self,
        slug: str,
        model: type[OrganizationPrompt] | type[OrganizationResource],
        key: str,
        value: str,
        view: Callable[[Any], dict[str, Any]],
        missing: str,
        *,
        actor: str,
        if_match: str | None = None,
    ) -> None:
        org_id = self._org_id(slug)
        entity = "prompt" if model is OrganizationPrompt else "resource"
        with org_session(self.engine, org_id) as session:
            row = session.exec(select(model).where(getattr(model, key) == value)).first()
            if row is None:
                raise NotFound(missing)
            before = view(row)
            check_version(before, if_match)
            session.delete(row)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type=entity,
                entity_id=value,
                action="delete",
                before=before,
            )
            self._commit(session, slug)

    def _read_own(
        self,
        slug: str,
        model: type[OrganizationPrompt] | type[OrganizationResource],
        key: str,
        value: str,
        view: Callable[[Any], dict[str, Any]],
    ) -> dict[str, Any] | None:
        with org_session(self.engine, self._org_id(slug)) as session:
            row = session.exec(select(model).where(getattr(model, key) == value)).first()
            return view(row) if row else None

    # helpers

    def organization_id(self, slug: str) -> int:
        return self._org_id(slug)

    def _org_id(self, slug: str) -> int:
        return organization_id(self.engine, slug)

    def _known(self, server: str) -> KnownServer:
        known = self.servers.get(server)
        if known is None:
            installed = ", ".join(sorted(self.servers)) or "none"
            raise NotFound(f"unknown server {server!r}; installed servers: {installed}", field="server")
        return known

    def _service_row(self, session: Session, org_id: int, server: str) -> OrganizationService:
        known = self._known(server)
        record = session.exec(select(McpServer).where(McpServer.name == server)).first()
        if record is None:  # installed but never served yet: register it now
            record = McpServer(name=server, version=known.version)
            session.add(record)
            session.flush()
        assert record.id is not None
        row = session.exec(
            select(OrganizationService).where(OrganizationService.server_id == record.id)
        ).first()
        return row or OrganizationService(
            organization_id=org_id, server_id=record.id, enabled=self._default_enabled, settings={}
        )

    def _commit(self, session: Session, slug: str) -> None:
        self._announce(session, slug)
        session.commit()
        self._after_commit(slug)


def organization_id(engine: Engine, slug: str) -> int:
    """The id of the organization `slug`; a ConfigError that says how to create it if there is none."""
    with Session(engine) as session:
        org_id = session.exec(select(Organization.id).where(Organization.slug == slug)).first()
    if org_id is None:
        raise NotFound(f"no organization {slug!r} (create it with `omni-mcp org create {slug}`)")
    return org_id


def _first_field(message: str) -> str | None:
    """The first field a settings validation message names ('api_key': ...), for the API's error."""
    start = message.find("'")
    end = message.find("'", start + 1)
    return f"settings.{message[start + 1 : end]}" if 0 <= start < end else "settings"


def _delete_owned_rows(session: Session, org_id: int) -> None:
    """Rows an organization owns, deleted explicitly: not every database enforces ON DELETE CASCADE."""
    from sqlalchemy import delete

    from omni_mcp.audit.models import CallLog
    from omni_mcp.db.scoping import scoped_models

    models: list[Any] = [*scoped_models(), CallLog]
    for model in models:
        session.execute(delete(model).where(model.organization_id == org_id))


def _hide(row: Any) -> None:
    """A hidden row carries no content of its own: it only removes the default of that name."""
    row.hidden = True
    if isinstance(row, OrganizationPrompt):
        row.template = None
    else:
        row.text = None


def _check_keys(spec: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"unknown {what} field {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")


def _checked(check: Callable[..., str], *args: Any) -> None:
    """Run a validation check; what it refuses is a ConfigError, like any other bad configuration."""
    try:
        check(*args)
    except InvalidName as error:
        raise ConfigError(str(error)) from None


def _prompt_from_spec(name: str, spec: Mapping[str, Any]) -> Prompt:
    _check_keys(spec, {"title", "description", "template", "arguments"}, "prompt")
    _checked(check_prompt_name, name)
    template = spec.get("template")
    if not isinstance(template, str) or not template.strip():
        raise ConfigError("a prompt needs 'template' (a non-empty string)")
    raw_arguments = spec.get("arguments", [])
    if not isinstance(raw_arguments, list) or not all(
        isinstance(a, dict) and "name" in a for a in raw_arguments
    ):
        raise ConfigError("'arguments' must be a list of tables with at least a 'name'")
    try:
        arguments = tuple(
            PromptArgument(
                str(a["name"]),
                str(a.get("description", "")),
                bool(a.get("required", False)),
                str(a.get("default", "")),
            )
            for a in raw_arguments
        )
        return Prompt(
            name, str(spec.get("description", "")), arguments, template=template, title=spec.get("title")
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _org_view(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "slug": org.slug, "name": org.name, "audit_arguments": org.audit_arguments}


def _user_view(user: User) -> dict[str, Any]:
    return {"user": user.external_id, "email": user.email, "name": user.name}


def _membership_view(membership: OrganizationMembership, user: str) -> dict[str, Any]:
    return {"user": user, "role": membership.role, "permissions": list(membership.permissions)}


def _service_view(row: OrganizationService, server: str) -> dict[str, Any]:
    return {"server": server, "enabled": row.enabled, "settings": plugin_settings.redact(row.settings)}


def _prompt_view(row: OrganizationPrompt) -> dict[str, Any]:
    return {
        "name": row.name,
        "hidden": row.hidden,
        "title": row.title,
        "description": row.description,
        "arguments": row.arguments,
        "template": row.template,
    }


def _resource_view(row: OrganizationResource) -> dict[str, Any]:
    return {
        "uri": row.uri,
        "hidden": row.hidden,
        "name": row.name,
        "title": row.title,
        "description": row.description,
        "mime_type": row.mime_type,
        "text": row.text,
    }
