"""Outcomes of the verify_* checks, kept per organization in the PluginStore (devtools://results)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from omni_mcp import CallContext

COLLECTION = "results"
URI_PREFIX = "devtools://results/"


def result_uri(key: str) -> str:
    return URI_PREFIX + key


async def record(ctx: CallContext, outcome: dict[str, Any]) -> str | None:
    """Store one check's outcome; return its URI. A storage failure must not cost the caller the answer."""
    if ctx.store is None:
        return None
    key = uuid.uuid4().hex
    value = {
        "id": key,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "caller": ctx.actor.id,
        **outcome,
    }
    try:
        await ctx.store.put(COLLECTION, key, value)
    except Exception as error:
        ctx.logger.warning("devtools: could not store a check result: {}: {}", type(error).__name__, error)
        return None
    return result_uri(key)


async def recent(ctx: CallContext, limit: int = 200) -> list[dict[str, Any]]:
    if ctx.store is None:
        return []
    return [value for _key, value in await ctx.store.recent(COLLECTION, limit)]


async def get(ctx: CallContext, key: str) -> dict[str, Any] | None:
    if ctx.store is None:
        return None
    return await ctx.store.get(COLLECTION, key)
