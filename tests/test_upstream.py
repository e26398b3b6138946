"""Helpers for plugins that call upstream HTTP services."""

from __future__ import annotations

import email.utils
import time

from omni_mcp import retry_after_seconds


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7", now=0) == 7.0
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("-4") == 0.0  # never a negative wait
    assert retry_after_seconds("Thu, 01 Jan 1970 00:01:40 GMT", now=40) == 60.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:01:40 GMT", now=500) == 0.0  # a date already past
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 < (retry_after_seconds(later) or 0) <= 60  # against the clock by default


def test_retry_after_absent_or_unreadable_is_none() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None
