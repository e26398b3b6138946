"""Which buckets a request draws from, and the 429 answer when one is empty."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from loguru import logger
from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.auth.actor_scope import ACTOR_SCOPE_KEY
from omni_mcp.context import Actor
from omni_mcp.ratelimit.buckets import (
    BucketStore,
    Decision,
    Limit,
    MemoryBuckets,
    RedisBuckets,
    retry_after_header,
)
from omni_mcp.security.errors import send_error

RATE_LIMITED = -32004
"""Implementation-defined JSON-RPC code for a call refused by a rate limit (inside a stream)."""


@dataclass(frozen=True)
class Limits:
    caller: Limit | None
    organization: Limit | None
    tools: Mapping[str, Limit] = field(default_factory=dict)


class RateLimiter:
    def __init__(self, limits: Limits, redis_url: str | None = None) -> None:
        self.limits = limits
        self.store: BucketStore = RedisBuckets(redis_url) if redis_url else MemoryBuckets()
        # While Redis is away, this process limits on its own rather than not at all.
        self._local: BucketStore | None = MemoryBuckets() if redis_url else None
        self.degraded = False

    async def check_request(self, actor: Actor) -> Decision:
        """Draw from the caller's and the organization's buckets; the first empty one refuses."""
        checks = [
            (f"caller:{actor.organization}:{actor.kind}:{actor.id}", self.limits.caller),
            (f"org:{actor.organization}", self.limits.organization),
        ]
        return await self._take(checks)

    async def check_tool(self, actor: Actor, tool: str) -> Decision:
        limit = self.limits.tools.get(tool)
        return await self._take([(f"tool:{tool}:{actor.organization}:{actor.kind}:{actor.id}", limit)])

    async def _take(self, checks: list[tuple[str, Limit | None]]) -> Decision:
        for key, limit in checks:
            if limit is None:
                continue
            decision = await self._take_one(key, limit)
            if not decision.allowed:
                return decision
        return Decision(True, 0.0)

    async def _take_one(self, key: str, limit: Limit) -> Decision:
        try:
            decision = await self.store.take(key, limit)
        except Exception as error:
            if self._local is None:
                raise
            if not self.degraded:
                self.degraded = True
                logger.warning(
                    "rate limits: Redis is unavailable ({}); this process limits callers on its own until "
                    "it returns",
                    type(error).__name__,
                )
            return await self._local.take(key, limit)
        if self.degraded:
            self.degraded = False
            logger.warning("rate limits: Redis is back; limits are shared by every process again")
        return decision

    async def close(self) -> None:
        if isinstance(self.store, RedisBuckets):
            await self.store.close()


class RateLimitMiddleware:
    """After authentication: HTTP 429 with Retry-After when the caller or its org is over the limit."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, mcp_path: str, exempt: frozenset[str]) -> None:
        self.app = app
        self.limiter = limiter
        self.mcp_path = mcp_path
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        actor = scope.get(ACTOR_SCOPE_KEY) if scope["type"] == "http" else None
        if not isinstance(actor, Actor) or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        decision = await self.limiter.check_request(actor)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        retry = retry_after_header(decision.retry_after)
        await send_error(
            scope,
            receive,
            send,
            429,
            f"Rate limit exceeded; retry after {retry} s",
            self.mcp_path,
            {"Retry-After": retry},
            code=RATE_LIMITED,
            data={"retryAfter": int(retry)},
        )
