"""Hear configuration changes other processes (the CLI) commit to the embedded SQLite database.

SQLite has no LISTEN/NOTIFY. `PRAGMA data_version` on a connection of our own changes whenever another
connection commits, so polling it is nearly free. When it moved, the audit rows added since we last
looked say which organizations changed: every configuration change writes one in its own transaction
(`record_change`), so what we read is exactly what committed. Call records live in another table, so
serving traffic does not look like a configuration change.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Awaitable, Callable

import anyio
import anyio.to_thread
from sqlalchemy import event
from sqlmodel import Session

from omni_mcp.audit.models import AuditLog

ALL_ORGANIZATIONS = "*"
POLL_SECONDS = 0.25
# Renaming or deleting an organization leaves entries cached under a slug that no row names any more.
_EVERY_ORGANIZATION_ACTIONS = frozenset({"rename", "delete"})
# Audited but not announced on the other channels either: no process caches anything they change
# (a key that did not exist yet), so reacting would only drop warm caches and notify clients for nothing.
_NOTHING_CACHED = frozenset({("api_key", "create")})


class OwnChanges:
    """Audit ids of changes this process committed: it invalidated those at once, so the watcher skips
    them instead of telling clients twice. Only committed ids are kept, so no other change is skipped."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._lock = threading.Lock()

    def remember(self, session: Session) -> None:
        """Inside the change's transaction: note its audit rows, kept once (and only if) it commits."""
        rows = [row for row in session.new if isinstance(row, AuditLog)]  # held: the identity map is weak
        session.flush()
        ids = {row.id for row in rows if row.id is not None}

        def committed(_session: Session) -> None:
            with self._lock:
                self._ids |= ids

        event.listen(session, "after_commit", committed, once=True)

    def take(self, audit_id: int) -> bool:
        """True (once) when `audit_id` is one of ours."""
        with self._lock:
            if audit_id in self._ids:
                self._ids.discard(audit_id)
                return True
            return False


class SqliteChangeWatcher:
    def __init__(
        self, database: str, interval: float = POLL_SECONDS, ours: Callable[[int], bool] = lambda _id: False
    ) -> None:
        self.database = database
        self.interval = interval
        self._ours = ours
        self._connection: sqlite3.Connection | None = None
        self._version = 0
        self._last_audit_id = 0

    async def watch(self, on_change: Callable[[str], Awaitable[None]]) -> None:
        """Run until cancelled, calling `on_change(slug)` (or '*') for each change another connection made."""
        await anyio.to_thread.run_sync(self._open)
        try:
            while True:
                await anyio.sleep(self.interval)
                for slug in await anyio.to_thread.run_sync(self.changed_organizations):
                    await on_change(slug)
        finally:
            if self._connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._connection.close()
                self._connection = None

    def _open(self) -> None:
        # Autocommit: a read must not hold a transaction open, or data_version would stand still.
        self._connection = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._version = self._data_version()
        row = self._connection.execute("SELECT coalesce(max(id), 0) FROM audit_logs").fetchone()
        self._last_audit_id = int(row[0])

    def _data_version(self) -> int:
        assert self._connection is not None
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def changed_organizations(self) -> list[str]:
        """Slugs changed since the last look, in order and without repeats ('*' when any is unknown)."""
        version = self._data_version()
        if version == self._version:
            return []
        self._version = version
        assert self._connection is not None
        rows = self._connection.execute(
            "SELECT a.id, o.slug, a.entity_type, a.action FROM audit_logs a "
            "LEFT JOIN organizations o ON o.id = a.organization_id WHERE a.id > ? ORDER BY a.id",
            (self._last_audit_id,),
        ).fetchall()
        slugs: list[str] = []
        for audit_id, slug, entity_type, action in rows:
            self._last_audit_id = max(self._last_audit_id, int(audit_id))
            if (entity_type, action) in _NOTHING_CACHED or self._ours(int(audit_id)):
                continue
            every = slug is None or (entity_type == "organization" and action in _EVERY_ORGANIZATION_ACTIONS)
            changed = ALL_ORGANIZATIONS if every else str(slug)
            if changed not in slugs:
                slugs.append(changed)
        return [ALL_ORGANIZATIONS] if ALL_ORGANIZATIONS in slugs else slugs
