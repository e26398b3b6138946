"""An upstream's list changes reach the gateway's clients in both eras; organizations stay apart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import mcp
import mcp.types as types
import pytest
from mcp.client.streamable_http import streamable_http_client

from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.testing import RunningGateway
from tests.federation_support import add_upstream, federating_gateway, text_of
from tests.federation_upstream import serve_upstream

pytestmark = pytest.mark.anyio


@pytest.fixture
def gateway() -> Iterator[RunningGateway]:
    with federating_gateway() as running:
        yield running


async def test_handshake_client_hears_the_upstreams_tool_list_change(gateway: RunningGateway) -> None:
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.set()

    with serve_upstream("grower") as upstream:
        add_upstream(gateway, "default", "up", url=upstream.url)
        async with mcp.Client(gateway.mcp_url, mode="legacy", message_handler=on_message) as client:
            assert "up_fresh" not in {t.name for t in (await client.list_tools()).tools}
            assert text_of(await client.call_tool("up_grow", {"name": "fresh"})) == "added fresh"
            with anyio.fail_after(15):
                await heard.wait()
            assert "up_fresh" in {t.name for t in (await client.list_tools()).tools}
            assert text_of(await client.call_tool("up_fresh", {})) == "I am fresh"


async def test_stateless_client_hears_it_on_subscriptions_listen(gateway: RunningGateway) -> None:
    with serve_upstream("grower") as upstream:
        add_upstream(gateway, "default", "up", url=upstream.url)
        async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
            await client.list_tools()
            async with client.listen(tools_list_changed=True) as subscription:
                await client.call_tool("up_grow", {"name": "later"})
                with anyio.fail_after(15):
                    async for _event in subscription:
                        break
            assert "up_later" in {t.name for t in (await client.list_tools()).tools}


async def test_resource_updates_reach_subscribed_clients_in_both_eras(gateway: RunningGateway) -> None:
    heard: list[str] = []
    got_it = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            heard.append(str(message.params.uri))
            got_it.set()

    with serve_upstream("watched") as upstream:
        add_upstream(gateway, "default", "up", url=upstream.url)
        async with mcp.Client(gateway.mcp_url, mode="legacy", message_handler=on_message) as client:
            await client.session.subscribe_resource("test://static/info")
            await client.call_tool("up_touch", {"uri": "test://static/info"})
            with anyio.fail_after(15):
                await got_it.wait()
        async with (
            mcp.Client(gateway.mcp_url, mode="2026-07-28") as modern,
            modern.listen(resource_subscriptions=["test://static/info"]) as subscription,
        ):
            await modern.call_tool("up_touch", {"uri": "test://static/info"})
            with anyio.fail_after(15):
                async for event in subscription:
                    assert getattr(event, "uri", None) == "test://static/info"
                    break
    assert heard == ["test://static/info"]


async def test_a_stdio_upstream_change_is_relayed_too(gateway: RunningGateway) -> None:
    import sys

    args = ["-m", "tests.federation_upstream", "s"]
    add_upstream(gateway, "default", "local", command=sys.executable, args=args)
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.set()

    async with mcp.Client(gateway.mcp_url, mode="legacy", message_handler=on_message) as client:
        await client.list_tools()
        await client.call_tool("local_grow", {"name": "piped"})
        with anyio.fail_after(15):
            await heard.wait()
        assert text_of(await client.call_tool("local_piped", {})) == "I am piped"


async def test_same_named_upstreams_of_two_organizations_stay_apart(gateway: RunningGateway) -> None:
    gateway.configure(lambda t: t.create_organization("acme", actor="test"))
    gateway.configure(lambda t: t.create_organization("globex", actor="test"))
    service = api_key_service(gateway.runtime)
    keys = {slug: service.create(slug, role="member", actor="t").key for slug in ("acme", "globex")}
    with serve_upstream("shared") as upstream, serve_upstream("extra") as extra:
        acme_headers = {"Authorization": "Bearer acme-token"}
        add_upstream(gateway, "acme", "crm", url=upstream.url, headers=acme_headers)
        add_upstream(gateway, "globex", "crm", url=upstream.url, headers={"X-Tenant": "globex-tenant"})
        add_upstream(gateway, "globex", "extra", url=extra.url)
        seen: dict[str, str] = {}
        names: dict[str, set[str]] = {}
        for slug, key in keys.items():
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
            transport = streamable_http_client(gateway.mcp_url, http_client=http)
            async with http, mcp.Client(transport, mode="2026-07-28", cache=None) as client:
                names[slug] = {t.name for t in (await client.list_tools()).tools}
                seen[slug] = text_of(await client.call_tool("crm_whoami", {}))
    assert seen["acme"] == "[('authorization', 'Bearer acme-token')]"
    assert seen["globex"] == "[('x-tenant', 'globex-tenant')]"  # and not the caller's omk_ key
    assert "extra_echo" in names["globex"] and "extra_echo" not in names["acme"]
    assert all(key not in str(seen) for key in keys.values())
