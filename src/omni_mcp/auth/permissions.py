"""Permission names and what each role grants. Checks go through the `permission_allowed` hook."""

from __future__ import annotations

TOOLS_CALL = "tools:call"
PROMPTS_READ = "prompts:read"
PROMPTS_WRITE = "prompts:write"
RESOURCES_READ = "resources:read"
RESOURCES_WRITE = "resources:write"
SERVICES_MANAGE = "services:manage"
MEMBERS_MANAGE = "members:manage"
APIKEYS_MANAGE = "apikeys:manage"
AUDIT_READ = "audit:read"

ALL_PERMISSIONS = frozenset(
    {
        TOOLS_CALL,
        PROMPTS_READ,
        PROMPTS_WRITE,
        RESOURCES_READ,
        RESOURCES_WRITE,
        SERVICES_MANAGE,
        MEMBERS_MANAGE,
        APIKEYS_MANAGE,
        AUDIT_READ,
    }
)

ORGANIZATIONS_MANAGE = "organizations:manage"
"""The operator's: create and delete organizations, administer every one. Never granted by an
organization (not in ALL_PERMISSIONS); see `admin.operators`."""

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "operator": ALL_PERMISSIONS | {ORGANIZATIONS_MANAGE},
    "owner": ALL_PERMISSIONS,
    "admin": ALL_PERMISSIONS - {MEMBERS_MANAGE},
    "member": frozenset({TOOLS_CALL, PROMPTS_READ, RESOURCES_READ}),
}


def permissions_of(role: str, extra: frozenset[str] = frozenset()) -> frozenset[str]:
    """What a role grants, plus any extra permissions given to the member or key."""
    return ROLE_PERMISSIONS.get(role, frozenset()) | (extra & ALL_PERMISSIONS)
