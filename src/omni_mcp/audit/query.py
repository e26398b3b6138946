"""Read the audit: configuration changes and calls, filtered, newest first.

The CLI (`omni-mcp audit`) uses it, as the admin API will; rows are plain dicts ready for JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omni_mcp.audit.models import AuditLog, CallLog
from omni_mcp.tenancy.models import Organization
from omni_mcp.tenancy.service import organization_id

DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class AuditFilter:
    organization: str | None = None
    actor: str | None = None
    action: str | None = None
    """A change's action (create, update, delete, ...) or, for calls, the tool/prompt/resource name."""
    outcome: str | None = None
    """Calls only: ok, error, denied or timeout."""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT


class AuditReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def changes(self, where: AuditFilter) -> list[dict[str, Any]]:
        query = select(AuditLog, Organization.slug).join(
            Organization,
            col(Organization.id) == col(AuditLog.organization_id),
            isouter=True,
        )
        query = self._common(query, AuditLog, where)
        if where.action is not None:
            query = query.where(AuditLog.action == where.action)
        with Session(self.engine) as session:
            return [
                {
                    "id": row.id,
                    "at": row.created_at,
                    "organization": slug,
                    "actor": row.actor,
                    "entity_type": row.entity_type,
                    "entity_id": row.entity_id,
                    "action": row.action,
                    "before": row.before,
                    "after": row.after,
                }
                for row, slug in session.exec(query).all()
            ]

    def calls(self, where: AuditFilter) -> list[dict[str, Any]]:
        query = select(CallLog, Organization.slug).join(
            Organization, col(Organization.id) == col(CallLog.organization_id)
        )
        query = self._common(query, CallLog, where)
        if where.action is not None:
            query = query.where(CallLog.name == where.action)
        if where.outcome is not None:
            query = query.where(CallLog.outcome == where.outcome)
        with Session(self.engine) as session:
            return [
                {
                    "id": row.id,
                    "at": row.created_at,
                    "organization": slug,
                    "actor": row.actor,
                    "kind": row.kind,
                    "name": row.name,
                    "outcome": row.outcome,
                    "duration_ms": row.duration_ms,
                    "arguments": row.arguments,
                }
                for row, slug in session.exec(query).all()
            ]

    def _common(self, query: Any, model: type[AuditLog] | type[CallLog], where: AuditFilter) -> Any:
        """The filters both audits share (organization, actor, time window), newest first, limited."""
        if where.organization is not None:
            query = query.where(model.organization_id == organization_id(self.engine, where.organization))
        if where.actor is not None:
            query = query.where(model.actor == where.actor)
        if where.since is not None:
            query = query.where(col(model.created_at) >= where.since)
        if where.until is not None:
            query = query.where(col(model.created_at) < where.until)
        return query.order_by(col(model.id).desc()).limit(_limit(where.limit))


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))
