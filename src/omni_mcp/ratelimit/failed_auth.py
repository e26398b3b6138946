"""Refused credentials per client address: one that keeps presenting bad ones is refused before any lookup.

Every refused credential (a bad API key, a forged token) draws from its address's bucket
(`rate_limit.failed_auth_per_minute`, bursts of `rate_limit.failed_auth_burst`; shared through Redis when
`redis.url` is set). When the bucket is empty the address is blocked until a token is back: each request
from it that presents a credential gets HTTP 429 with Retry-After at once, without a database lookup or a
signature check. Requests without a credential, and good credentials of addresses that are not blocked,
never draw. The block is kept in this process, so it costs nothing to check.
"""

from __future__ import annotations

import time

from cachetools import TTLCache
from loguru import logger
from starlette.types import Receive, Scope, Send

from omni_mcp.ratelimit.buckets import BucketStore, Limit, retry_after_header
from omni_mcp.ratelimit.limiter import RATE_LIMITED
from omni_mcp.security.errors import send_error

MAX_BLOCKED_ADDRESSES = 100_000


class FailedAuthLimiter:
    def __init__(self, store: BucketStore, limit: Limit) -> None:
        self._store = store
        self._limit = limit
        # address -> when (time.monotonic) it may try again; entries outlive any block, then go.
        longest_block = max(60.0, 1 / limit.per_second) + 1
        self._blocked: TTLCache[str, float] = TTLCache(maxsize=MAX_BLOCKED_ADDRESSES, ttl=longest_block)

    def retry_after(self, address: str) -> float | None:
        """Seconds until `address` may present a credential again; None when it may now."""
        until = self._blocked.get(address)
        if until is None:
            return None
        left = until - time.monotonic()
        return left if left > 0 else None

    async def failed(self, address: str) -> float | None:
        """Count a refused credential of `address`; the seconds it is now blocked for, or None."""
        try:
            decision = await self._store.take(f"auth-failed:{address}", self._limit)
        except Exception as error:  # Redis away: keep answering 401 rather than lock everyone out
            logger.warning("failed-authentication limit unavailable ({})", type(error).__name__)
            return None
        if decision.allowed:
            return None
        self._blocked[address] = time.monotonic() + decision.retry_after
        logger.warning(
            "client {} blocked for {:.0f}s after repeated bad credentials", address, decision.retry_after
        )
        return decision.retry_after

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, mcp_path: str, retry_after: float
    ) -> None:
        retry = retry_after_header(retry_after)
        await send_error(
            scope,
            receive,
            send,
            429,
            f"Too many failed authentication attempts; retry after {retry} s",
            mcp_path,
            {"Retry-After": retry},
            code=RATE_LIMITED,
            data={"retryAfter": int(retry)},
        )
