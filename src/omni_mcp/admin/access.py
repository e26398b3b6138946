"""Who may do what in the admin: the gateway's Actor, its permissions asked through the same hook as /mcp.

An organization's admins act on their own organization only; an operator (role `operator`: the local
user of local mode, or a caller listed in `admin.operators`) acts on every organization.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from omni_mcp.admin.problems import ApiProblem
from omni_mcp.auth.access import AccessControl
from omni_mcp.auth.permissions import ORGANIZATIONS_MANAGE
from omni_mcp.context import Actor

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

OPERATOR = "operator"
ROLE_RANK = {"member": 0, "admin": 1, "owner": 2, OPERATOR: 3}


def as_admin_caller(actor: Actor | None, operators: list[str]) -> Actor | None:
    """The actor, promoted to the operator role when the operator said so (or it is the local user)."""
    if actor is None:
        return None
    if actor.kind == "local" or actor.id in operators:
        return dataclasses.replace(actor, role=OPERATOR)
    return actor


class Access:
    def __init__(self, runtime: Runtime) -> None:
        self._control = AccessControl(runtime.plugins)

    async def allowed(self, actor: Actor, permission: str, organization: str | None = None) -> bool:
        foreign = organization is not None and organization != actor.organization
        if foreign and not await self._control.allowed(actor, ORGANIZATIONS_MANAGE):
            return False
        return await self._control.allowed(actor, permission, organization)

    async def require(self, actor: Actor | None, permission: str, organization: str | None = None) -> Actor:
        """The actor, if it may; else 401 (nobody) or 403 (a member, or another organization's admin)."""
        if actor is None:
            raise ApiProblem(401, "sign in, or send an API key or bearer token")
        foreign = organization is not None and organization != actor.organization
        if foreign and not await self._control.allowed(actor, ORGANIZATIONS_MANAGE):
            raise ApiProblem(403, "you may administer your own organization only")
        if not await self._control.allowed(actor, permission, organization):
            raise ApiProblem(403, f"this needs the permission {permission!r}")
        return actor

    async def is_operator(self, actor: Actor) -> bool:
        return await self._control.allowed(actor, ORGANIZATIONS_MANAGE)

    async def may_grant(self, actor: Actor, role: str, permissions: list[str]) -> None:
        """A caller cannot hand out more than it holds (an API key's role and extra permissions)."""
        if ROLE_RANK.get(role, 99) > ROLE_RANK.get(actor.role, -1):
            raise ApiProblem(403, f"you cannot grant the role {role!r}, above your own", field="role")
        for permission in permissions:
            if not await self._control.allowed(actor, permission):
                raise ApiProblem(
                    403, f"you cannot grant {permission!r}: you do not hold it", field="permissions"
                )
