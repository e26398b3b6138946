"""Reading the change audit and the call audit: filters, keyset pagination (newest first), export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, tuple_
from sqlmodel import Session, col, select

from omni_mcp.audit.models import AuditLog, CallLog

EXPORT_BATCH = 1000
CHANGE_COLUMNS = ["id", "created_at", "actor", "entity_type", "entity_id", "action", "before", "after"]
CALL_COLUMNS = ["id", "created_at", "actor", "kind", "name", "outcome", "duration_ms", "arguments"]


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def change_view(row: AuditLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": _iso(row.created_at),
        "actor": row.actor,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "action": row.action,
        "before": row.before,
        "after": row.after,
    }


def call_view(row: CallLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": _iso(row.created_at),
        "actor": row.actor,
        "kind": row.kind,
        "name": row.name,
        "outcome": row.outcome,
        "duration_ms": row.duration_ms,
        "arguments": row.arguments,
    }


def page(
    engine: Engine,
    model: type[AuditLog] | type[CallLog],
    organization_id: int,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest first. Ordered by (created_at, id) so the (organization_id, created_at) index
    serves it without sorting the whole history; the cursor is the last row's time and id."""
    statement: Any = select(model).where(model.organization_id == organization_id)
    for name, value in filters.items():
        if value is not None:
            statement = statement.where(getattr(model, name) == value)
    if cursor is not None:
        moment, last_id = parse_cursor(cursor)
        # A row-value comparison, plus its first column alone so that PostgreSQL too seeks the index to it.
        created = col(model.created_at)
        statement = statement.where(
            created <= moment, tuple_(created, col(model.id)) < tuple_(moment, last_id)
        )
    statement = statement.order_by(col(model.created_at).desc(), col(model.id).desc()).limit(limit + 1)
    view = change_view if model is AuditLog else call_view
    with Session(engine) as session:
        rows = list(session.exec(statement).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = make_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return [view(row) for row in rows], next_cursor


CURSOR_PATTERN = r"^\d{1,20}\.\d{1,18}$"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def make_cursor(moment: datetime, row_id: int | None) -> str:
    """Microseconds since the epoch, exactly (no float), and the row id."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{(aware - EPOCH) // MICROSECOND}.{row_id}"


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    micros, _, row_id = cursor.partition(".")
    return EPOCH + int(micros) * MICROSECOND, int(row_id)


def export(
    engine: Engine,
    model: type[AuditLog] | type[CallLog],
    organization_id: int,
    filters: dict[str, Any],
    form: str,
) -> Iterator[str]:
    """Every matching row as JSON lines or CSV, read in batches (memory stays flat whatever the size)."""
    columns = CHANGE_COLUMNS if model is AuditLog else CALL_COLUMNS
    if form == "csv":
        yield _csv_line(columns)
    cursor: str | None = None
    while True:
        rows, next_cursor = page(engine, model, organization_id, filters, EXPORT_BATCH, cursor)
        for row in rows:
            if form == "csv":
                yield _csv_line(
                    [json.dumps(row[c]) if isinstance(row[c], dict | list) else row[c] for c in columns]
                )
            else:
                yield json.dumps(row, separators=(",", ":")) + "\n"
        if next_cursor is None:
            return
        cursor = next_cursor


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    # Cells starting with =, +, - or @ are quoted with a leading ' so spreadsheets never run them.
    safe = ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in values]
    csv.writer(buffer).writerow(safe)
    return buffer.getvalue()


def recent_activity(engine: Engine, since: datetime) -> dict[int, tuple[int, int]]:
    """Calls and failed calls per organization since `since` (the overview's last hour)."""
    from sqlalchemy import case, func

    failed = func.sum(case((col(CallLog.outcome) != "ok", 1), else_=0))
    statement: Any = (
        select(CallLog.organization_id, func.count(), failed)
        .where(col(CallLog.created_at) >= since)
        .group_by(col(CallLog.organization_id))
    )
    with Session(engine) as session:
        return {org: (int(calls), int(errors or 0)) for org, calls, errors in session.exec(statement).all()}
