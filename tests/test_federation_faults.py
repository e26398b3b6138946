"""Upstreams that go down, hang or speak garbage: their calls fail fast and clearly, the organization's other
tools keep serving, /health says which upstream is down, and a returning upstream is used again."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator

import anyio
import httpx
import mcp
import pytest
from mcp.shared.exceptions import MCPError

from omni_mcp.testing import RunningGateway, free_port
from tests.federation_support import add_upstream, child_pids, federating_gateway, text_of
from tests.federation_upstream import serve_asgi, serve_upstream

pytestmark = pytest.mark.anyio
FAST = {"connect_timeout": 3.0, "max_backoff_seconds": 0.5}


@pytest.fixture
def gateway() -> Iterator[RunningGateway]:
    with federating_gateway(federation=FAST, gateway={"tool_timeout": 2.0}) as running:
        yield running


def upstream_state(gateway: RunningGateway, name: str) -> dict[str, str]:
    body = httpx.get(gateway.base_url + "/health").json()
    (entry,) = [u for u in body["upstreams"] if u["upstream"] == name]
    return dict(entry)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a hung upstream)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


async def test_down_upstream_fails_fast_others_serve_and_it_recovers(gateway: RunningGateway) -> None:
    port = free_port()
    with serve_upstream("good") as good:
        add_upstream(gateway, "default", "good", url=good.url)
        with serve_upstream("flaky", port=port) as flaky:
            add_upstream(gateway, "default", "flaky", url=flaky.url)
            async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
                assert text_of(await client.call_tool("flaky_echo", {"text": "1"})) == "flaky:1"
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            failed = await client.call_tool("flaky_echo", {"text": "2"})
            assert failed.is_error and "flaky" in text_of(failed)
            again = await client.call_tool("flaky_echo", {"text": "3"})
            assert again.is_error and "unavailable" in text_of(again)  # while down: at once, no waiting
            assert "flaky_echo" in {t.name for t in (await client.list_tools()).tools}  # still listed
            assert text_of(await client.call_tool("good_echo", {"text": "ok"})) == "good:ok"
            assert upstream_state(gateway, "flaky")["state"] == "down"
            assert upstream_state(gateway, "good")["state"] == "ready"
            with serve_upstream("flaky", port=port):  # it comes back on the same address
                deadline = time.monotonic() + 20
                while (result := await client.call_tool("flaky_echo", {"text": "4"})).is_error:
                    assert time.monotonic() < deadline, text_of(result)
                    await anyio.sleep(0.1)
                assert text_of(result) == "flaky:4"


async def test_a_tool_that_hangs_is_stopped_while_the_upstream_keeps_serving(gateway: RunningGateway) -> None:
    with serve_upstream("slowpoke") as upstream:
        add_upstream(gateway, "default", "up", url=upstream.url)
        async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
            results: dict[str, str] = {}

            async def hang() -> None:
                result = await client.call_tool("up_slow", {"seconds": 30})
                results["slow"] = text_of(result) if result.is_error else "answered"

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(hang)
                results["echo"] = text_of(await client.call_tool("up_echo", {"text": "meanwhile"}))
        assert results["echo"] == "slowpoke:meanwhile"
        assert "did not finish within 2 seconds" in results["slow"]


async def test_an_upstream_that_never_answers_times_out_and_is_reported(
    gateway: RunningGateway, silent_port: int
) -> None:
    add_upstream(gateway, "default", "mute", url=f"http://127.0.0.1:{silent_port}/mcp")
    with serve_upstream("good") as good:
        add_upstream(gateway, "default", "good", url=good.url)
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "good_echo" in names and not any(n.startswith("mute_") for n in names)
            with pytest.raises(MCPError, match="Unknown tool"):  # never listed: nothing to call
                await client.call_tool("mute_echo", {"text": "x"})
            assert text_of(await client.call_tool("good_echo", {"text": "y"})) == "good:y"
    state = upstream_state(gateway, "mute")
    assert state["state"] == "down" and "timed out" in state["detail"]


async def test_garbage_from_a_stdio_upstream_marks_it_down_and_leaves_no_process(
    gateway: RunningGateway,
) -> None:
    before = child_pids()
    garbage = "import sys, time\nprint('this is not JSON-RPC', flush=True)\ntime.sleep(60)"
    add_upstream(gateway, "default", "junk", command=sys.executable, args=["-c", garbage])
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
        assert not any(t.name.startswith("junk_") for t in (await client.list_tools()).tools)
    deadline = time.monotonic() + 20
    while upstream_state(gateway, "junk")["state"] != "down":
        assert time.monotonic() < deadline
        await anyio.sleep(0.05)
    while child_pids() - before:  # the garbage process is stopped, not orphaned (polled through /proc)
        assert time.monotonic() < deadline, child_pids() - before
        await anyio.sleep(0.05)


async def test_garbage_over_http_marks_it_down(gateway: RunningGateway) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def nonsense(request: object) -> PlainTextResponse:
        return PlainTextResponse("<html>certainly not MCP</html>", media_type="application/json")

    app = Starlette(routes=[Route("/mcp", nonsense, methods=["GET", "POST", "DELETE"])])
    with serve_asgi(app) as (base_url, _server):
        add_upstream(gateway, "default", "junk", url=base_url + "/mcp")
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            assert not any(t.name.startswith("junk_") for t in (await client.list_tools()).tools)
            with pytest.raises(MCPError, match="Unknown tool"):
                await client.call_tool("junk_echo", {})
        assert upstream_state(gateway, "junk")["state"] == "down"
