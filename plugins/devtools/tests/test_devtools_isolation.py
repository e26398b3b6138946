"""Several organizations, and two callers of one organization, drive the browser in parallel: none ever
sees another's pages, cookies, localStorage, console messages, network requests, artefacts or results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx2
import mcp
import mcp.types as types
import omni_mcp_devtools.plugin as devtools_plugin
import pytest
from devtools_helpers import call, gateway_settings, text_of
from mcp.client.streamable_http import streamable_http_client
from site_server import LocalSite

from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.testing import RunningGateway, fresh_database_url, serve_in_thread

pytestmark = pytest.mark.anyio

ORGANIZATIONS = ("acme", "globex", "initech")


@dataclass(frozen=True)
class Caller:
    organization: str
    name: str
    key: str

    @property
    def secret(self) -> str:
        return f"secret-{self.organization}-{self.name}"


@pytest.fixture(scope="module")
def callers(site: LocalSite) -> Iterator[tuple[RunningGateway, list[Caller]]]:
    """A server that requires API keys: two callers in acme, one in each other organization."""
    with fresh_database_url() as url:
        settings = gateway_settings(url, site)
        settings = settings.model_copy(
            update={"auth": settings.auth.model_copy(update={"local_mode": False})}
        )
        with serve_in_thread(settings, [("devtools", devtools_plugin)]) as gateway:
            found = []
            for org in ORGANIZATIONS:
                gateway.configure(lambda t, org=org: t.create_organization(org, actor="test"))
                for name in ("alice", "bob") if org == "acme" else ("carol",):
                    key = api_key_service(gateway.runtime).create(org, role="member", actor="test").key
                    found.append(Caller(org, name, key))
            yield gateway, found


@asynccontextmanager
async def client_for(gateway: RunningGateway, caller: Caller, era: str) -> AsyncIterator[mcp.Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {caller.key}"}, timeout=60)
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode=era, cache=None) as client:
        yield client


async def leave_traces(client: mcp.Client, site: LocalSite, caller: Caller) -> str:
    """Everything a caller can leave in a browser: a page, a cookie, storage, a console message, a request,
    a screenshot and a check result. Returns the screenshot's URI."""
    await call(client, "navigate_page", url=site.at(f"/form?who={caller.secret}"))
    await call(client, "set_cookie", name="who", value=caller.secret, url=site.url)
    await call(
        client,
        "evaluate_script",
        function="(s) => { localStorage.setItem('who', s); console.log('I am ' + s); "
        "return fetch('/api/echo', {method: 'POST', body: s}).then(r => r.status) }",
        args=[caller.secret],
    )
    await call(client, "verify_text_visible", text="Sign up")
    shot = await call(client, "take_screenshot")
    assert shot.structured_content is not None
    uri: str = shot.structured_content["uri"]
    return uri


async def everything_visible(client: mcp.Client) -> str:
    """All a caller can read back, as one text to search for other callers' secrets."""
    parts = []
    for tool, arguments in [
        ("list_pages", {}),
        ("list_contexts", {}),
        ("list_cookies", {}),
        ("evaluate_script", {"function": "() => JSON.stringify(localStorage)"}),
        ("list_console_messages", {"page_size": 200}),
        ("list_network_requests", {"page_size": 200}),
        ("take_snapshot", {}),
    ]:
        parts.append(text_of(await call(client, tool, **arguments)))
    parts.append(await read_text(client, "devtools://state"))
    return "\n".join(parts)


async def read_text(client: mcp.Client, uri: str) -> str:
    content = (await client.read_resource(uri)).contents[0]
    assert isinstance(content, types.TextResourceContents)
    return content.text


async def test_callers_in_parallel_never_see_each_other(
    callers: tuple[RunningGateway, list[Caller]], site: LocalSite, era: str
) -> None:
    gateway, people = callers
    seen: dict[Caller, str] = {}
    results: dict[Caller, str] = {}
    screenshots: dict[Caller, str] = {}

    async def one(caller: Caller) -> None:
        async with client_for(gateway, caller, era) as client:
            screenshots[caller] = await leave_traces(client, site, caller)
            seen[caller] = await everything_visible(client)
            results[caller] = await read_text(client, "devtools://results")

    async with anyio.create_task_group() as group:
        for caller in people:
            group.start_soon(one, caller)

    for caller in people:
        assert caller.secret in seen[caller], "a caller must see their own traces"
        for other in people:
            if other is not caller:
                assert other.secret not in seen[caller], (
                    f"{caller.name}@{caller.organization} saw {other.secret}"
                )
            if other.organization != caller.organization:
                # check results are the organization's (shared by its callers), never another's
                assert other.secret not in results[caller]

    # Artefacts are their maker's alone, in the same organization too.
    alice, bob = people[0], people[1]
    async with client_for(gateway, bob, era) as client:
        with pytest.raises(mcp.MCPError, match="Resource not found"):
            await client.read_resource(screenshots[alice])
        mine = await client.read_resource(screenshots[bob])
        assert isinstance(mine.contents[0], types.BlobResourceContents)

    for caller in people:
        async with client_for(gateway, caller, era) as client:
            await call(client, "close_context")
