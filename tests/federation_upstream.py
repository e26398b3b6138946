"""An upstream MCP server built on the official Python SDK (MCPServer), for the federation tests.

Served over streamable HTTP in a thread (`serve_upstream`) or over stdio (`python -m tests.federation_upstream
LABEL`). Its tools report what the upstream itself received (headers, environment), so tests assert on the
upstream's side which credentials reached it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

CANCELLED: list[str] = []
"""Labels of upstreams whose `slow` call was cancelled (what the upstream itself saw)."""


def make_upstream(label: str) -> MCPServer:
    server = MCPServer(f"upstream-{label}")

    @server.tool()
    def echo(text: str) -> str:
        """Say the text back, with the upstream's label."""
        return f"{label}:{text}"

    @server.tool()
    def whoami(ctx: Context) -> str:
        """The credentials this upstream received with the request."""
        headers = ctx.headers or {}
        seen = {name: headers.get(name) for name in ("authorization", "x-api-key", "cookie", "x-tenant")}
        return repr(sorted((k, v) for k, v in seen.items() if v is not None))

    @server.tool()
    def env(name: str) -> str:
        """An environment variable of the upstream process ('' when unset)."""
        return os.environ.get(name, "")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer (a cancelled call is noted in CANCELLED)."""
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            CANCELLED.append(label)
            raise
        return "done"

    @server.tool()
    async def steps(ctx: Context) -> str:
        """Report progress three times."""
        for step in range(1, 4):
            await ctx.report_progress(step, 3, f"step {step}")
        return "stepped"

    @server.tool()
    async def grow(name: str, ctx: Context) -> str:
        """Add a tool called `name` and announce the change."""

        def added() -> str:
            return f"I am {name}"

        server.add_tool(added, name=name, description=f"added at run time: {name}")
        await ctx.notify_tools_changed()
        return f"added {name}"

    @server.tool()
    async def touch(uri: str, ctx: Context) -> str:
        """Announce that the resource at `uri` changed."""
        await ctx.notify_resource_updated(uri)
        return f"touched {uri}"

    @server.tool()
    def crash() -> str:
        """Exit the process at once (a stdio upstream that crashes)."""
        os._exit(3)

    @server.prompt()
    def greet(name: str) -> str:
        """Greet someone."""
        return f"Hello {name}, from {label}"

    @server.resource("test://static/info", mime_type="text/plain")
    def info() -> str:
        """A fixed resource."""
        return f"info of {label}"

    @server.resource("test://items/{item}", mime_type="text/plain")
    def item(item: str) -> str:
        """A templated resource."""
        return f"item {item} of {label}"

    return server


@dataclass
class RunningUpstream:
    url: str
    server: MCPServer
    uvicorn: uvicorn.Server


@contextlib.contextmanager
def serve_upstream(
    label: str, server: MCPServer | None = None, port: int | None = None
) -> Iterator[RunningUpstream]:
    """Serve an upstream over streamable HTTP on loopback (a free port unless given), in a thread."""
    server = server or make_upstream(label)
    with serve_asgi(server.streamable_http_app(host="127.0.0.1"), port) as (url, runner):
        yield RunningUpstream(url + "/mcp", server, runner)


@contextlib.contextmanager
def serve_asgi(app: Any, port: int | None = None) -> Iterator[tuple[str, uvicorn.Server]]:
    """Serve any ASGI app on loopback in a background thread; yields its base URL."""
    from omni_mcp.testing import free_port  # here: the stdio entry point below stays quick to start

    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, name=f"upstream-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:  # uvicorn offers no event to await across threads
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the upstream server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", runner
    finally:
        runner.should_exit = True
        thread.join(timeout=15)


if __name__ == "__main__":
    make_upstream(sys.argv[1] if len(sys.argv) > 1 else "stdio").run("stdio")
