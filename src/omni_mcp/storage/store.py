"""PluginStore: JSON records a plugin keeps per organization, reachable only by that org and plugin."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from sqlalchemy import Engine
from sqlmodel import col, select

from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import org_session
from omni_mcp.storage.models import PluginRecord

MAX_LIST = 1000


class PluginStore:
    """Given to handlers as `ctx.store`; bound to the calling organization and the plugin."""

    def __init__(self, engine: Engine, organization_id: int, plugin: str) -> None:
        self._engine = engine
        self._organization_id = organization_id
        self._plugin = plugin

    async def put(self, collection: str, key: str, value: dict[str, Any]) -> None:
        """Create or replace the record `key` of `collection`."""
        await anyio.to_thread.run_sync(self._put, collection, key, value)

    async def get(self, collection: str, key: str) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(self._get, collection, key)

    async def recent(self, collection: str, limit: int = 50) -> list[tuple[str, dict[str, Any]]]:
        """Newest first: (key, value) pairs."""
        return await anyio.to_thread.run_sync(self._list, collection, max(0, min(limit, MAX_LIST)))

    async def delete(self, collection: str, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, collection, key)

    def _find(self, session: Any, collection: str, key: str) -> PluginRecord | None:
        query = select(PluginRecord).where(
            PluginRecord.plugin == self._plugin,
            PluginRecord.collection == collection,
            PluginRecord.key == key,
        )
        record: PluginRecord | None = session.exec(query).first()
        return record

    def _put(self, collection: str, key: str, value: dict[str, Any]) -> None:
        with org_session(self._engine, self._organization_id) as session:
            record = self._find(session, collection, key) or PluginRecord(
                organization_id=self._organization_id, plugin=self._plugin, collection=collection, key=key
            )
            record.value = value
            record.updated_at = utcnow()
            session.add(record)
            session.commit()

    def _get(self, collection: str, key: str) -> dict[str, Any] | None:
        with org_session(self._engine, self._organization_id) as session:
            record = self._find(session, collection, key)
            return dict(record.value) if record else None

    def _list(self, collection: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
        with org_session(self._engine, self._organization_id) as session:
            query = (
                select(PluginRecord)
                .where(PluginRecord.plugin == self._plugin, PluginRecord.collection == collection)
                .order_by(col(PluginRecord.updated_at).desc(), col(PluginRecord.id).desc())
                .limit(limit)
            )
            return [(record.key, dict(record.value)) for record in session.exec(query).all()]

    def _delete(self, collection: str, key: str) -> bool:
        with org_session(self._engine, self._organization_id) as session:
            record = self._find(session, collection, key)
            if record is None:
                return False
            session.delete(record)
            session.commit()
            return True
