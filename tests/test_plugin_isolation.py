"""A plugin cannot stop or stall the gateway: escapes become error results, synchronous code runs in a
bounded worker pool (so the tool timeout answers on time and other calls go on), and async code that holds
the event loop is logged by name. Through a real server and the official client, in both eras."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import mcp
import mcp.types as types
import pytest
from loguru import logger

from omni_mcp import ToolGroup, hookimpl
from omni_mcp.settings import Settings
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

pytestmark = pytest.mark.anyio

TOOL_TIMEOUT = 1.0
STALL_SECONDS = 0.2
BLOCK_LIMIT = 20.0  # a blocked test tool gives up after this, so a failing test still ends


class UnrulyPlugin:
    """Tools that misbehave in every way a plugin can, and a sync startup hook that records its thread."""

    def __init__(self) -> None:
        self.blocked = threading.Semaphore(0)
        self.unblock = threading.Event()
        self.startup_thread: str | None = None

    @hookimpl
    def startup(self) -> None:
        self.startup_thread = threading.current_thread().name

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("unruly")

        @group.tool
        async def exit() -> str:
            raise SystemExit(3)

        @group.tool
        def interrupt() -> str:
            raise KeyboardInterrupt

        @group.tool
        async def cancel() -> str:
            raise asyncio.CancelledError  # nothing cancelled this call: a stray one

        @group.tool
        def block() -> str:
            """Blocks its thread (time.sleep-like) until the test lets it go."""
            self.blocked.release()
            self.unblock.wait(BLOCK_LIMIT)
            return "unblocked"

        @group.tool
        async def spin(seconds: float) -> str:
            """Holds the event loop: async, but never yields."""
            time.sleep(seconds)  # the misbehaviour under test: async, yet blocking
            return "spun"

        return group

    async def wait_blocked(self) -> None:
        assert await anyio.to_thread.run_sync(self.blocked.acquire, True, BLOCK_LIMIT), "never blocked"


class DyingStartupPlugin:
    """Its sync startup hook calls sys.exit."""

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("dying")

        @group.tool
        async def never() -> str:
            return "unreachable"

        return group

    @hookimpl
    def startup(self) -> None:
        raise SystemExit("plugin wants out")


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


@pytest.fixture
def unruly() -> UnrulyPlugin:
    return UnrulyPlugin()


@pytest.fixture
def start(omni_database_url: str, unruly: UnrulyPlugin) -> Iterator[Callable[..., RunningGateway]]:
    """Start a server with the unruly plugin, a healthy one and a dying one, given plugin settings."""
    with contextlib.ExitStack() as stack:

        def run(**plugin_settings: Any) -> RunningGateway:
            settings: Settings = make_test_settings(
                omni_database_url,
                gateway={"tool_timeout": TOOL_TIMEOUT},
                plugins={"stall_warning_seconds": STALL_SECONDS, **plugin_settings},
            )
            plugins = [("unruly", unruly), ("demo", EchoPlugin()), ("dying", DyingStartupPlugin())]
            return stack.enter_context(serve_in_thread(settings, plugins))

        try:
            yield run
        finally:
            unruly.unblock.set()


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ("unruly_exit", "Tool 'unruly_exit' failed: SystemExit: 3"),
        ("unruly_interrupt", "Tool 'unruly_interrupt' failed: KeyboardInterrupt"),
        ("unruly_cancel", "Tool 'unruly_cancel' failed: CancelledError"),
    ],
)
async def test_escapes_become_the_tools_error_and_the_server_keeps_serving(
    start: Callable[..., RunningGateway], era: str, tool: str, expected: str
) -> None:
    gateway = start()
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        result = await client.call_tool(tool, {})
        after = await client.call_tool("demo_echo", {"text": "still here"})
    assert result.is_error and text_of(result) == expected
    assert text_of(after) == "still here"


async def test_a_sync_hook_runs_off_the_loop_and_its_exit_only_withholds_its_plugin(
    start: Callable[..., RunningGateway], unruly: UnrulyPlugin
) -> None:
    gateway = start()
    assert unruly.startup_thread is not None
    assert unruly.startup_thread != f"omni-mcp-test-{gateway.settings.server.port}"  # not the server's loop
    assert gateway.runtime.states["dying"].withheld
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "dying_never" not in names and "demo_echo" in names


async def test_a_blocking_sync_tool_times_out_on_time_while_other_calls_go_on(
    start: Callable[..., RunningGateway], unruly: UnrulyPlugin, era: str
) -> None:
    gateway = start()
    blocked: list[types.CallToolResult] = []
    async with mcp.Client(gateway.mcp_url, mode=era) as client, anyio.create_task_group() as tasks:

        async def call_block() -> None:
            blocked.append(await client.call_tool("unruly_block", {}))

        tasks.start_soon(call_block)
        await unruly.wait_blocked()
        with anyio.fail_after(BLOCK_LIMIT / 2):  # the loop is free: answered while the tool still blocks
            echoed = await client.call_tool("demo_echo", {"text": "meanwhile"})
            added = await client.call_tool("demo_sync_add", {"a": 1, "b": 2})  # another worker thread
        assert not unruly.unblock.is_set()
    assert text_of(echoed) == "meanwhile"
    assert added.structured_content == {"sum": 3}
    assert blocked[0].is_error
    assert text_of(blocked[0]) == "Tool 'unruly_block' did not finish within 1 seconds and was stopped"


async def test_the_worker_pool_is_bounded(start: Callable[..., RunningGateway], unruly: UnrulyPlugin) -> None:
    gateway = start(worker_threads=1)
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        first = await client.call_tool("unruly_block", {})  # abandoned at the timeout; its thread blocks on
        await unruly.wait_blocked()
        waiting = await client.call_tool("demo_sync_add", {"a": 1, "b": 2})  # no free thread in time
        echoed = await client.call_tool("demo_echo", {"text": "async code needs no thread"})
        unruly.unblock.set()
        freed = await client.call_tool("demo_sync_add", {"a": 1, "b": 2})
    assert first.is_error and waiting.is_error
    assert text_of(waiting) == "Tool 'demo_sync_add' did not finish within 1 seconds and was stopped"
    assert text_of(echoed) == "async code needs no thread"
    assert freed.structured_content == {"sum": 3}


async def test_an_async_tool_holding_the_loop_is_logged_with_its_name_and_duration(
    start: Callable[..., RunningGateway], era: str
) -> None:
    gateway = start()
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(message.record["message"]), level="WARNING")
    try:
        async with mcp.Client(gateway.mcp_url, mode=era) as client:
            result = await client.call_tool("unruly_spin", {"seconds": 4 * STALL_SECONDS})
    finally:
        logger.remove(sink)
    assert text_of(result) == "spun"
    # Seen while it lasted (a busy machine may add stalls of its own: look for this one).
    stalled = [m for m in warnings if m.startswith("event loop stalled for")]
    assert any(m.endswith("running tool 'unruly_spin'") for m in stalled), stalled
    held = [m for m in warnings if m.startswith("tool 'unruly_spin' blocked the event loop for ")]
    assert len(held) == 1
    seconds = float(held[0].removeprefix("tool 'unruly_spin' blocked the event loop for ").split()[0])
    assert seconds >= 4 * STALL_SECONDS
