"""A verified token's claims -> an Actor, through the claim names in settings (defaults fit Clerk).

Organization values that are not valid slugs (Clerk's `org_2abc...` ids, say) become a slug made of the
lowercased value and a hash of the exact value, so two different ids never share an organization.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from omni_mcp.auth.errors import InvalidCredential, OrganizationRefused
from omni_mcp.context import Actor
from omni_mcp.settings import AuthSettings

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
ROLES = frozenset({"owner", "admin", "member"})
MAX_PERMISSIONS = 200
MAX_CLAIM_LENGTH = 200


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or inside objects by dotted path (`o.id` for Clerk's v2 session tokens)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def organization_slug(value: str) -> str:
    """The organization slug for a claim value: itself when it is one, else a stable, distinct slug."""
    if SLUG_PATTERN.match(value):
        return value
    base = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:80] or "org"
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"{base}-{digest}"


class ClaimMapper:
    def __init__(self, settings: AuthSettings, default_organization: str) -> None:
        self.settings = settings
        self.default_organization = default_organization

    def organization(self, claims: dict[str, Any]) -> tuple[str, str]:
        """(slug, the claim's own value) of the organization the token acts for."""
        value = claim_at(claims, self.settings.claim_organization)
        if value is None or value == "":
            if self.settings.missing_organization == "default":
                return self.default_organization, self.default_organization
            raise OrganizationRefused("token names no organization")
        if not isinstance(value, str) or len(value) > MAX_CLAIM_LENGTH:
            raise InvalidCredential("token organization claim invalid")
        return organization_slug(value), value

    def role(self, claims: dict[str, Any]) -> str:
        value = claim_at(claims, self.settings.claim_role)
        if isinstance(value, str):
            if value in self.settings.role_map:
                return self.settings.role_map[value]
            if value in ROLES:
                return value
        return self.settings.default_role

    def permissions(self, claims: dict[str, Any]) -> frozenset[str]:
        value = claim_at(claims, self.settings.claim_permissions)
        if isinstance(value, str):
            value = value.split()
        if not isinstance(value, list):
            return frozenset()
        return frozenset(
            p for p in value[:MAX_PERMISSIONS] if isinstance(p, str) and len(p) <= MAX_CLAIM_LENGTH
        )

    def actor(self, claims: dict[str, Any]) -> Actor:
        subject = claims.get(self.settings.claim_subject)
        if not isinstance(subject, str) or not subject or len(subject) > MAX_CLAIM_LENGTH:
            raise InvalidCredential("token has no subject")
        slug, _value = self.organization(claims)
        return Actor(
            id=subject,
            organization=slug,
            role=self.role(claims),
            permissions=self.permissions(claims),
            kind="user",
        )
