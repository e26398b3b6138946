"""Token buckets: a limit of `rate` per minute with bursts up to `burst`, kept in memory or in Redis."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache

# Atomic refill-and-take in Redis: one round trip, consistent across processes.
_REDIS_TAKE = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', key, math.ceil((burst / rate) * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until one token is back (0 when allowed)


class BucketStore(Protocol):
    async def take(self, key: str, limit: Limit) -> Decision: ...


def _retry_after(tokens: float, limit: Limit) -> float:
    return 0.0 if tokens >= 1 else (1 - tokens) / limit.per_second


class MemoryBuckets:
    """Buckets in this process; idle ones are forgotten (a full bucket is the same as no bucket)."""

    def __init__(self, max_keys: int = 100_000, idle_seconds: float = 3600) -> None:
        self._state: TTLCache[str, tuple[float, float]] = TTLCache(maxsize=max_keys, ttl=idle_seconds)

    async def take(self, key: str, limit: Limit) -> Decision:
        now = time.monotonic()
        tokens, at = self._state.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - at) * limit.per_second)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return Decision(True, 0.0)
        self._state[key] = (tokens, now)
        return Decision(False, _retry_after(tokens, limit))


class RedisBuckets:
    """Buckets shared by every process using the same Redis."""

    def __init__(self, url: str, prefix: str = "omni_mcp:ratelimit:") -> None:
        import redis.asyncio as aioredis

        self._client = aioredis.Redis.from_url(url, socket_timeout=2)
        self._script = self._client.register_script(_REDIS_TAKE)
        self._prefix = prefix

    async def take(self, key: str, limit: Limit) -> Decision:
        # Redis server time keeps processes on different clocks consistent.
        seconds, microseconds = await self._client.time()
        now = seconds + microseconds / 1_000_000
        allowed, tokens = await self._script(
            keys=[self._prefix + key], args=[limit.per_second, limit.burst, f"{now:.6f}"]
        )
        remaining = float(tokens)
        return Decision(bool(allowed), 0.0 if allowed else _retry_after(remaining, limit))

    async def close(self) -> None:
        await self._client.aclose()


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
