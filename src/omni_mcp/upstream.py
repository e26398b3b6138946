"""Helpers for plugins that call upstream HTTP services (public: re-exported by `omni_mcp`)."""

from __future__ import annotations

import email.utils
import time


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """An HTTP `Retry-After` value as seconds to wait: a number of seconds, or an HTTP date (RFC 9110).
    None when absent or unreadable; never negative. `now` (epoch seconds) defaults to the clock."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
