"""Write an audit row in the caller's transaction, so no change can commit without its record."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from omni_mcp.audit.models import AuditLog


def record_change(
    session: Session,
    *,
    actor: str,
    organization_id: int | None,
    entity_type: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditLog(
            organization_id=organization_id,
            actor=actor,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            before=before,
            after=after,
        )
    )
