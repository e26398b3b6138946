"""Shared helpers of the federation tests: a gateway that may reach loopback upstreams, and changes to
an organization's upstreams made the way the server makes them (in a worker thread of its loop)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import anyio.to_thread

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread

FEDERATION = {
    "allowed_kinds": ["http", "stdio"],
    "allow_private_hosts": ["127.0.0.1"],
    "stdio_commands": [sys.executable],
    "connect_timeout": 20.0,
}


@contextlib.contextmanager
def federating_gateway(**sections: dict[str, Any]) -> Iterator[RunningGateway]:
    federation = {**FEDERATION, **sections.pop("federation", {})}
    with fresh_database_url() as url:
        settings = make_test_settings(url, federation=federation, **sections)
        with serve_in_thread(settings) as running:
            yield running


def in_server(gateway: RunningGateway, change: Any) -> Any:
    loop: asyncio.AbstractEventLoop = gateway.app.state.loop
    future = asyncio.run_coroutine_threadsafe(anyio.to_thread.run_sync(change), loop)
    return future.result(timeout=60)


def add_upstream(gateway: RunningGateway, slug: str, name: str, **spec: Any) -> dict[str, Any]:
    service = gateway.runtime.federation.upstreams
    result: dict[str, Any] = in_server(gateway, lambda: service.add(slug, name, actor="test", **spec))
    return result


def remove_upstream(gateway: RunningGateway, slug: str, name: str) -> None:
    service = gateway.runtime.federation.upstreams
    in_server(gateway, lambda: service.remove(slug, name, actor="test"))


def text_of(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)
