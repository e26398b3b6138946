"""Shared helpers of the federation tests: a gateway that may reach loopback upstreams, and changes to
an organization's upstreams made the way the server makes them (in a worker thread of its loop)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
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


def child_pids() -> set[int]:
    """Live (not zombie) child processes of this test process, from /proc."""
    found: set[int] = set()
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z":
                    found.add(int(pid))
    return found


def open_sockets() -> int:
    count = 0
    for fd in Path(f"/proc/{os.getpid()}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def everything_server() -> tuple[str, str]:
    """(node, index.js) of server-everything, installed by scripts/federation-servers.sh."""
    cache = Path(os.environ.get("OMNI_MCP_FEDERATION_CACHE", Path.home() / ".cache/omni-mcp-federation"))
    node = cache / "node_modules/.bin/node"
    script = cache / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    if not (node.exists() and script.exists()):
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: the reference server-everything cannot be installed")
        done = subprocess.run(
            ["bash", str(SCRIPTS / "federation-servers.sh")], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(
                f"scripts/federation-servers.sh could not install server-everything: {done.stderr[-500:]}"
            )
    return str(node), str(script)
