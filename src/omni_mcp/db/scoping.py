"""Organization scoping in one place: a session bound to an organization only ever sees that org's rows.

Every org-scoped model carries `organization_id` (OrgScoped). `org_session(engine, org_id)` returns a
session whose every SELECT gets `organization_id = :org_id` added by SQLAlchemy itself, and whose every
write is checked to belong to that organization. Call sites cannot forget the filter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session

SCOPE_KEY = "omni_mcp.organization_id"


class OrgScoped:
    """Marker for tables whose rows belong to one organization; each declares `organization_id_field()`."""

    organization_id: int


def organization_id_field() -> Any:
    return Field(foreign_key="organizations.id", index=True, ondelete="CASCADE")


class CrossOrganizationWrite(PermissionError):
    """A session bound to one organization tried to write another organization's row."""


def org_session(engine: Engine, organization_id: int) -> Session:
    session = Session(engine)
    session.info[SCOPE_KEY] = organization_id
    return session


def scoped_models() -> list[type[OrgScoped]]:
    """Every mapped table class marked OrgScoped (they register themselves by subclassing)."""
    found: list[type[OrgScoped]] = []
    pending = list(OrgScoped.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


@event.listens_for(OrmSession, "do_orm_execute")
def _filter_by_organization(state: ORMExecuteState) -> None:
    organization_id = state.session.info.get(SCOPE_KEY)
    if organization_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(
        *(
            with_loader_criteria(model, model.organization_id == organization_id, include_aliases=True)
            for model in scoped_models()
        )
    )


@event.listens_for(OrmSession, "before_flush")
def _check_writes(session: OrmSession, _context: Any, _instances: Any) -> None:
    organization_id = session.info.get(SCOPE_KEY)
    if organization_id is None:
        return
    for row in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(row, OrgScoped) and row.organization_id != organization_id:
            raise CrossOrganizationWrite(
                f"{type(row).__name__} of organization {row.organization_id} written in a session bound to "
                f"organization {organization_id}"
            )
