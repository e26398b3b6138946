"""The organization's search history: every tool result, kept in the PluginStore (so per organization)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from omni_mcp import CallContext

COLLECTION = "searches"
URI_PREFIX = "perplexity://searches/"
MAX_ANSWER_CHARS = 100_000


def search_uri(key: str) -> str:
    return URI_PREFIX + key


async def remember(ctx: CallContext, record: dict[str, Any]) -> str | None:
    """Store one result; return its resource URI. A storage failure must not cost the user the answer."""
    key = uuid.uuid4().hex
    answer = record.get("answer")
    if isinstance(answer, str) and len(answer) > MAX_ANSWER_CHARS:
        record = {**record, "answer": answer[:MAX_ANSWER_CHARS], "answer_truncated": True}
    record = {"id": key, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), **record}
    try:
        await ctx.store.put(COLLECTION, key, record)
    except Exception as error:
        ctx.logger.warning("could not store the Perplexity result: {}: {}", type(error).__name__, error)
        return None
    return search_uri(key)


async def recent(ctx: CallContext, limit: int) -> list[dict[str, Any]]:
    return [value for _key, value in await ctx.store.recent(COLLECTION, limit)]


async def get(ctx: CallContext, key: str) -> dict[str, Any] | None:
    return await ctx.store.get(COLLECTION, key)
