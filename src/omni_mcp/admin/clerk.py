"""Clerk's organization, membership and user events, applied through the TenancyService (each audited).

Each delivery is recorded once by its svix-id in the webhook_events table, so a redelivery changes nothing.
Organizations are keyed the way tokens name them (auth.claim_organization: Clerk's id, or its slug), so a
member's token and the webhook agree on which organization is which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loguru import logger
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from omni_mcp.auth.claims import organization_slug
from omni_mcp.db.models import utcnow
from omni_mcp.settings import AuthSettings
from omni_mcp.tenancy.models import WebhookEvent
from omni_mcp.tenancy.service import AlreadyExists, NotFound, TenancyService

SOURCE = "clerk"
ACTOR = "webhook:clerk"
LEGACY_ROLES = {"admin": "admin", "basic_member": "member"}


class MalformedEvent(ValueError):
    """The body is not a Clerk event we can read."""


def claim(engine: Engine, event_id: str, event_type: str, payload: dict[str, Any]) -> bool:
    """Record the delivery; False when this svix-id was recorded before (a redelivery)."""
    with Session(engine) as session:
        session.add(
            WebhookEvent(source=SOURCE, event_id=event_id[:200], event_type=event_type[:100], payload=payload)
        )
        try:
            session.commit()
        except IntegrityError:
            return False
    return True


def release(engine: Engine, event_id: str) -> None:
    """Forget a delivery that failed to apply, so that Svix's retry applies it."""
    with Session(engine) as session:
        session.execute(
            delete(WebhookEvent).where(
                col(WebhookEvent.source) == SOURCE, col(WebhookEvent.event_id) == event_id[:200]
            )
        )
        session.commit()


def mark_processed(engine: Engine, event_id: str) -> None:
    from sqlalchemy import update

    with Session(engine) as session:
        session.execute(
            update(WebhookEvent)
            .where(col(WebhookEvent.source) == SOURCE, col(WebhookEvent.event_id) == event_id[:200])
            .values(processed_at=utcnow())
        )
        session.commit()


class ClerkEvents:
    def __init__(self, tenancy: TenancyService, auth: AuthSettings) -> None:
        self.tenancy = tenancy
        self.auth = auth

    def apply(self, event_type: str, data: Mapping[str, Any]) -> str:
        """Apply one event; returns what was done (for the answer and the log)."""
        handler = {
            "organization.created": self._organization_upserted,
            "organization.updated": self._organization_upserted,
            "organization.deleted": self._organization_deleted,
            "organizationMembership.created": self._membership_upserted,
            "organizationMembership.updated": self._membership_upserted,
            "organizationMembership.deleted": self._membership_deleted,
            "user.created": self._user_upserted,
            "user.updated": self._user_upserted,
            "user.deleted": self._user_deleted,
        }.get(event_type)
        if handler is None:
            return "ignored"
        return handler(data)

    def slug_of(self, organization: Mapping[str, Any]) -> str:
        by_slug = self.auth.claim_organization in ("org_slug", "o.slg")
        value = organization.get("slug") if by_slug else organization.get("id")
        return organization_slug(_text(value, "organization id"))

    def _organization_upserted(self, data: Mapping[str, Any]) -> str:
        slug = self.slug_of(data)
        name = str(data.get("name") or slug)[:200]
        try:
            self.tenancy.create_organization(slug, name, actor=ACTOR)
            return f"organization {slug} created"
        except AlreadyExists:
            if self.tenancy.get_organization(slug)["name"] != name:
                self.tenancy.update_organization(slug, name=name, actor=ACTOR)
            return f"organization {slug} updated"

    def _organization_deleted(self, data: Mapping[str, Any]) -> str:
        slug = self.slug_of(data)
        try:
            self.tenancy.delete_organization(slug, actor=ACTOR)
        except NotFound:
            return f"organization {slug} was not here"
        return f"organization {slug} deleted"

    def _membership_parts(self, data: Mapping[str, Any]) -> tuple[str, str]:
        organization = data.get("organization")
        user = data.get("public_user_data")
        if not isinstance(organization, Mapping) or not isinstance(user, Mapping):
            raise MalformedEvent("a membership event needs data.organization and data.public_user_data")
        return self.slug_of(organization), _text(user.get("user_id"), "public_user_data.user_id")

    def _membership_upserted(self, data: Mapping[str, Any]) -> str:
        slug, user = self._membership_parts(data)
        organization = data["organization"]
        try:
            self.tenancy.get_organization(slug)
        except NotFound:  # deliveries may come out of order: the membership brings its organization
            self._organization_upserted(organization)
        role = self._role(data.get("role"))
        self.tenancy.add_member(slug, user, role, actor=ACTOR)
        return f"{user} is {role} of {slug}"

    def _membership_deleted(self, data: Mapping[str, Any]) -> str:
        slug, user = self._membership_parts(data)
        try:
            self.tenancy.remove_member(slug, user, actor=ACTOR)
        except NotFound:
            return f"{user} was not a member of {slug}"
        return f"{user} left {slug}"

    def _role(self, value: Any) -> str:
        if isinstance(value, str):
            if value in self.auth.role_map:
                return self.auth.role_map[value]
            if value in LEGACY_ROLES:
                return LEGACY_ROLES[value]
        return self.auth.default_role

    def _user_upserted(self, data: Mapping[str, Any]) -> str:
        user = _text(data.get("id"), "user id")
        self.tenancy.upsert_user(user, email=_primary_email(data), name=_full_name(data), actor=ACTOR)
        return f"user {user} recorded"

    def _user_deleted(self, data: Mapping[str, Any]) -> str:
        user = _text(data.get("id"), "user id")
        try:
            left = self.tenancy.delete_user(user, actor=ACTOR)
        except NotFound:
            return f"user {user} was not here"
        logger.info("user {} deleted by Clerk; removed from {} organization(s)", user, len(left))
        return f"user {user} deleted"


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise MalformedEvent(f"{what} is missing or not a short string")
    return value


def _primary_email(data: Mapping[str, Any]) -> str | None:
    addresses = data.get("email_addresses")
    if not isinstance(addresses, list):
        return None
    primary = data.get("primary_email_address_id")
    for address in addresses:
        if isinstance(address, Mapping) and (primary is None or address.get("id") == primary):
            value = address.get("email_address")
            return value if isinstance(value, str) else None
    return None


def _full_name(data: Mapping[str, Any]) -> str | None:
    parts = [data.get("first_name"), data.get("last_name")]
    name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name or None
