"""stdio upstreams: started on first use, restarted after a crash, stopped when idle, on removal and at
shutdown; never orphaned (the test counts this process's children, from /proc)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import mcp
import pytest

from tests.federation_support import (
    add_upstream,
    child_pids,
    federating_gateway,
    open_sockets,
    remove_upstream,
    text_of,
)

pytestmark = pytest.mark.anyio
STDIO = {"command": sys.executable, "args": ["-m", "tests.federation_upstream", "child"]}


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll a condition that has no event to await (a process exiting, seen through /proc)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_started_on_first_use_stopped_on_removal_and_at_shutdown() -> None:
    before = child_pids()
    with federating_gateway() as gateway:
        add_upstream(gateway, "default", "local", **STDIO)
        assert child_pids() == before  # nothing runs until the organization uses it
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            assert text_of(await client.call_tool("local_echo", {"text": "x"})) == "child:x"
            started = child_pids() - before
            assert len(started) == 1
            remove_upstream(gateway, "default", "local")
            assert "local_echo" not in {t.name for t in (await client.list_tools()).tools}
        assert wait_until(lambda: not (child_pids() & started))
        add_upstream(gateway, "default", "again", **STDIO)
        async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
            assert text_of(await client.call_tool("again_echo", {"text": "y"})) == "child:y"
        assert len(child_pids() - before) == 1
    assert child_pids() == before  # shutdown stopped it


async def test_stopped_when_idle_and_started_again_on_use() -> None:
    before = child_pids()
    with federating_gateway(federation={"idle_seconds": 0.5}) as gateway:
        add_upstream(gateway, "default", "local", **STDIO)
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            await client.call_tool("local_echo", {"text": "1"})
            assert len(child_pids() - before) == 1
            assert wait_until(lambda: child_pids() == before)
            assert "local_echo" in {t.name for t in (await client.list_tools()).tools}  # still listed
            assert text_of(await client.call_tool("local_echo", {"text": "2"})) == "child:2"
            assert len(child_pids() - before) == 1
    assert child_pids() == before


async def test_many_calls_and_crashes_leave_no_process_or_socket_behind() -> None:
    """200 calls and 10 crashes (modest, for CI time); a crash fails one call, the next call restarts."""
    before = child_pids()
    with federating_gateway(federation={"max_backoff_seconds": 0.2}) as gateway:
        add_upstream(gateway, "default", "local", **STDIO)
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            await client.call_tool("local_echo", {"text": "warm"})
            sockets = open_sockets()
            pids: set[int] = set()
            for round_ in range(10):
                for number in range(20):
                    result = await client.call_tool("local_echo", {"text": str(number)})
                    assert text_of(result) == f"child:{number}", (round_, number, text_of(result))
                pids |= child_pids() - before
                crashed = await client.call_tool("local_crash", {})
                assert crashed.is_error and "local" in text_of(crashed)
                assert wait_until(lambda gone=frozenset(pids): not (child_pids() & gone))
                await _call_until_ok(client)
            assert len(pids) == 10  # a fresh process after every crash
            assert len(child_pids() - before) == 1
            assert open_sockets() <= sockets + 2
        connection = gateway.runtime.federation.connection(1, "local")
        assert connection is not None and connection.connects == 11
    assert child_pids() == before


async def _call_until_ok(client: mcp.Client) -> None:
    """After a crash the upstream is down for its (short) backoff: calls fail fast, then succeed."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = await client.call_tool("local_echo", {"text": "back"})
        if not result.is_error:
            return
        assert (
            "unavailable" in text_of(result) or "went away" in text_of(result) or "failed" in text_of(result)
        )
    raise AssertionError("the upstream did not come back")
