"""Each organization's effective configuration in memory (TTL + LRU), so requests do not touch the database.

A miss loads once per organization even under concurrent requests; an invalidation that lands while a
load is running keeps that (possibly stale) load out of the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from cachetools import TTLCache

from omni_mcp.config.effective import OrgConfig


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    invalidations: int = 0


class OrgConfigCache:
    def __init__(
        self, loader: Callable[[str], OrgConfig], *, ttl_seconds: float, max_organizations: int
    ) -> None:
        self._loader = loader
        self._entries: TTLCache[str, OrgConfig] = TTLCache(maxsize=max_organizations, ttl=ttl_seconds)
        self._locks: dict[str, anyio.Lock] = {}
        self._generation: dict[str, int] = {}
        self._all_generation = 0
        self.stats = CacheStats()

    async def get(self, slug: str) -> OrgConfig:
        config = self._entries.get(slug)
        if config is not None:
            self.stats.hits += 1
            return config
        lock = self._locks.setdefault(slug, anyio.Lock())
        async with lock:
            config = self._entries.get(slug)
            if config is not None:
                self.stats.hits += 1
                return config
            self.stats.misses += 1
            before = (self._generation.get(slug, 0), self._all_generation)
            config = await anyio.to_thread.run_sync(self._loader, slug)
            if before == (self._generation.get(slug, 0), self._all_generation):
                self._entries[slug] = config
            return config

    def invalidate(self, slug: str | None = None) -> None:
        """Forget one organization (or all, with None); the next request reloads it."""
        self.stats.invalidations += 1
        if slug is None:
            self._all_generation += 1
            self._entries.clear()
            return
        self._generation[slug] = self._generation.get(slug, 0) + 1
        self._entries.pop(slug, None)
