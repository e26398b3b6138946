"""The browser process killed mid-call, and a page whose renderer crashes: the call in flight fails with
a clear error, the next call works (a fresh browser, or another page)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import anyio
import httpx
import mcp
import omni_mcp_devtools.plugin as devtools_plugin
import pytest
from devtools_helpers import call, fails, gateway_settings, text_of
from omni_mcp_devtools.browser import Browsers, browsers_of
from omni_mcp_devtools.session import SessionKey
from site_server import LocalSite

from omni_mcp.testing import RunningGateway, fresh_database_url, serve_in_thread

pytestmark = pytest.mark.anyio
T = TypeVar("T")


@pytest.fixture(scope="module")
def gateway(site: LocalSite) -> Iterator[RunningGateway]:
    """A server of its own: these tests kill its browser."""
    with (
        fresh_database_url() as url,
        serve_in_thread(gateway_settings(url, site), [("devtools", devtools_plugin)]) as running,
    ):
        yield running


def on_server(gateway: RunningGateway, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on the server's event loop, where its browser lives."""
    return asyncio.run_coroutine_threadsafe(work, gateway.app.state.loop).result(timeout=30)


def server_browsers(gateway: RunningGateway) -> Browsers:
    found = browsers_of(gateway.app.state.loop)
    assert found is not None
    return found


async def health_of(gateway: RunningGateway) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        body: dict[str, Any] = (await http.get(gateway.base_url + "/health")).json()
    return body


async def until(condition: Any) -> None:
    with anyio.fail_after(20):
        while not condition():  # noqa: ASYNC110 - state of another thread's loop: polled
            await anyio.sleep(0.05)


async def test_killing_chromium_fails_the_call_in_flight_and_the_next_call_relaunches(
    gateway: RunningGateway, site: LocalSite, era: str
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/form"))
        found = server_browsers(gateway)
        launches = found.launches
        processes = on_server(gateway, found.processes())
        browser_pid = next(p["pid"] for p in processes if p["type"] == "browser")
        slow = f"/slow?s=4&era={era}"
        seen_before = len(site.requests)
        outcome: dict[str, Any] = {}

        async def slow_navigation() -> None:
            outcome["result"] = await client.call_tool("devtools_navigate_page", {"url": site.at(slow)})

        async with anyio.create_task_group() as group:
            group.start_soon(slow_navigation)
            await until(lambda: "/slow" in site.requests[seen_before:])
            os.kill(browser_pid, signal.SIGKILL)
        in_flight = outcome["result"]
        assert in_flight.is_error
        assert "The browser stopped during this call" in text_of(in_flight)
        assert "The next call starts a fresh browser" in text_of(in_flight)

        health = (await health_of(gateway))["plugins"]["devtools"]
        assert health["status"] == "degraded"
        assert "the next call relaunches it" in health["detail"]

        again = await call(client, "navigate_page", url=site.at("/form"))
        assert "('Form')" in text_of(again)
        assert found.launches == launches + 1
        health = (await health_of(gateway))["plugins"]["devtools"]
        assert health["status"] == "healthy"
        assert health["detail"].startswith("Chromium ")
        with contextlib.suppress(ProcessLookupError):
            os.kill(browser_pid, 0)
            raise AssertionError("the killed browser is still there")


async def test_a_crashed_renderer_fails_clearly_and_other_pages_work(
    gateway: RunningGateway, site: LocalSite, era: str
) -> None:
    ctx = f"crash-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        opened = await call(client, "navigate_page", url=site.at("/crash"), context=ctx)
        assert opened.structured_content is not None
        page_id = opened.structured_content["page"]
        found = server_browsers(gateway)
        session = found.sessions[SessionKey("default", "local", ctx)]
        state = session.pages[page_id]

        async def crash() -> None:
            cdp = await session.context.new_cdp_session(state.page)
            with contextlib.suppress(Exception):  # the page dies before it can answer
                await asyncio.wait_for(cdp.send("Page.crash"), 5)

        on_server(gateway, crash())
        await until(lambda: state.crashed)
        refused = await fails(client, "take_snapshot", context=ctx)
        assert f"Page {page_id} crashed (its renderer process died)" in refused
        errors = await call(client, "list_console_messages", levels=["error"], context=ctx)
        assert "the page's renderer process crashed" in text_of(errors)

        await call(client, "new_page", url=site.at("/form"), context=ctx)
        assert "Sign up" in text_of(await call(client, "take_snapshot", context=ctx))
        await call(client, "close_page", page_id=page_id, context=ctx)
        await call(client, "close_context", context=ctx)
