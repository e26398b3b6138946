"""The Redis database a test process may use (and flush): one of its own under pytest-xdist."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_url_for_tests(default: str | None = DEFAULT_TEST_REDIS_URL) -> str | None:
    """$OMNI_MCP_TEST_REDIS_URL (or `default`); each xdist worker counts down from its database number, so
    parallel workers never flush each other's keys."""
    url = os.environ.get("OMNI_MCP_TEST_REDIS_URL", default)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if url is None or not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - int(worker[2:])) % 16}"))
