"""Refused with a clear error: loopback, private and link-local addresses and non-web schemes, for
navigations and subresources; what an organization's policy narrows; calls past the context and page
limits; idle contexts are closed."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import mcp
import omni_mcp_devtools.plugin as devtools_plugin
import pytest
from devtools_helpers import call, fails, gateway_settings, text_of
from omni_mcp_devtools.browser import browsers_of
from site_server import LocalSite

from omni_mcp.tenancy.service import ConfigError
from omni_mcp.testing import RunningGateway, fresh_database_url, serve_in_thread

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def gateway(site: LocalSite) -> Iterator[RunningGateway]:
    """Small limits, and contexts idle for 3 seconds are closed."""
    settings = {"max_contexts_per_organization": 3, "max_pages_per_context": 2, "idle_timeout": 3.0}
    with (
        fresh_database_url() as url,
        serve_in_thread(gateway_settings(url, site, **settings), [("devtools", devtools_plugin)]) as running,
    ):
        yield running


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://127.0.0.1:{gateway_port}/health",
            "resolves to 127.0.0.1, a loopback, private or link-local",
        ),
        ("http://localhost:{site_port}/form", "a loopback, private or link-local address"),
        ("http://10.1.2.3/", "resolves to 10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254"),
        ("http://[::1]:{site_port}/form", "resolves to ::1"),
        ("file:///etc/passwd", "the file: scheme is not allowed"),
        ("chrome://version", "the chrome: scheme is not allowed"),
        ("view-source:http://example.com/", "the view-source: scheme is not allowed"),
    ],
)
async def test_navigation_to_internal_places_is_refused(
    gateway: RunningGateway, site: LocalSite, url: str, reason: str
) -> None:
    target = url.format(gateway_port=gateway.settings.server.port, site_port=site.url.rsplit(":", 1)[1])
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        refused = await fails(client, "navigate_page", url=target, context="policy")
        new_page = await fails(client, "new_page", url=target, context="policy")
    assert refused.startswith("Navigation refused: ")
    assert reason in refused
    assert reason in new_page


async def test_subresources_to_internal_addresses_are_blocked(
    gateway: RunningGateway, site: LocalSite, era: str
) -> None:
    ctx = f"subresources-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/private"), context=ctx)
        await call(client, "wait_for", text="tries private addresses", context=ctx)
        for _ in range(200):  # the fetch is refused after the page has loaded; poll its log
            logged = await call(client, "list_network_requests", context=ctx)
            assert logged.structured_content is not None
            failures = {i["url"]: i["failure"] or "" for i in logged.structured_content["items"]}
            if "http://127.0.0.2:9/secret" in failures:
                break
            await anyio.sleep(0.05)
        assert failures["http://10.0.0.1/pixel.png"].startswith("blocked by policy: ")
        assert failures["http://169.254.169.254/latest/meta-data/"].startswith("blocked by policy: ")
        assert failures["http://127.0.0.2:9/secret"].startswith("blocked by policy: ")
        await call(client, "close_context", context=ctx)


@pytest.mark.parametrize(
    "target", ["http://localhost:{site_port}/form", "https://localhost:{site_port}/form"]
)
async def test_a_redirect_to_an_internal_address_is_refused(
    gateway: RunningGateway, site: LocalSite, target: str
) -> None:
    """context.route never sees a redirect's hops: the context's egress proxy refuses them."""
    to = target.format(site_port=site.url.rsplit(":", 1)[1])
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
        redirected = await client.call_tool(
            "devtools_navigate_page", {"url": site.at(f"/redirect?to={to}"), "context": "redirects"}
        )
        if not redirected.is_error:  # plain HTTP: the proxy answers 403 in place of the internal page
            assert "Sign up" not in text_of(await call(client, "take_snapshot", context="redirects"))
        errors = await call(client, "list_console_messages", levels=["error"], context="redirects")
        assert "blocked by network policy" in text_of(errors)
        assert "a loopback, private or link-local address" in text_of(errors)
        await call(client, "close_context", context="redirects")
    assert "/form" not in site.requests[-3:]


async def test_a_subresource_redirect_to_metadata_is_refused(
    gateway: RunningGateway, site: LocalSite
) -> None:
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        await call(client, "navigate_page", url=site.at("/redirecting-image"), context="redirect-image")
        for _ in range(200):
            errors = await call(client, "list_console_messages", levels=["error"], context="redirect-image")
            if "169.254.169.254" in text_of(errors):
                break
            await anyio.sleep(0.05)
        assert "blocked by network policy: http://169.254.169.254/latest/meta-data/ resolves to" in text_of(
            errors
        )
        await call(client, "close_context", context="redirect-image")


async def test_an_organization_can_narrow_the_policy_but_not_widen_it(
    gateway: RunningGateway, site: LocalSite
) -> None:
    def narrow(blocked: list[str], allowed: list[str]) -> None:
        gateway.configure(
            lambda t: t.set_service_settings(
                "default", "devtools", {"blocked_urls": blocked, "allowed_urls": allowed}, actor="test"
            )
        )

    with pytest.raises(ConfigError, match="is the operator's"):
        gateway.configure(
            lambda t: t.set_service_settings(
                "default", "devtools", {"operator_allowed_urls": ["*"]}, actor="test"
            )
        )
    try:
        narrow([site.at("/dialog*")], [])
        async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
            blocked = await fails(client, "navigate_page", url=site.at("/dialog"), context="narrow")
            assert "blocked by this organization's policy" in blocked
            await call(client, "navigate_page", url=site.at("/form"), context="narrow")
        narrow([], [site.at("/form*")])
        async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
            outside = await fails(client, "navigate_page", url=site.at("/upload"), context="narrow")
            assert "is not in this organization's allowed URLs" in outside
            await call(client, "navigate_page", url=site.at("/form"), context="narrow")
            await call(client, "close_context", context="narrow")
    finally:
        narrow([], [])


async def test_calls_past_the_limits_are_refused(gateway: RunningGateway, site: LocalSite) -> None:
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        await call(client, "new_page", url=site.at("/form"), context="limits-a")
        await call(client, "new_page", context="limits-a")
        too_many_pages = await fails(client, "new_page", context="limits-a")
        assert "already has 2 pages open, its limit (max_pages_per_context=2)" in too_many_pages
        await call(client, "list_pages", context="limits-b")
        await call(client, "list_pages", context="limits-c")
        too_many = await fails(client, "list_pages", context="limits-d")
        assert "already has 3 browser contexts open, its limit (max_contexts_per_organization=3)" in too_many
        for name in ("limits-a", "limits-b", "limits-c"):
            await call(client, "close_context", context=name)
        await call(client, "list_pages", context="limits-d")
        await call(client, "close_context", context="limits-d")


async def test_idle_contexts_are_closed(gateway: RunningGateway, site: LocalSite) -> None:
    async with mcp.Client(gateway.mcp_url, mode="legacy") as client:
        await call(client, "navigate_page", url=site.at("/form"), context="idle")
        contexts = await call(client, "list_contexts")
        assert contexts.structured_content is not None
        assert "idle" in [c["context"] for c in contexts.structured_content["contexts"]]
    # Polled through the server's own state (a call would touch, and so keep, the context).
    found = browsers_of(gateway.app.state.loop)
    assert found is not None
    for _ in range(100):
        if not any(key.name == "idle" for key in list(found.sessions)):
            break
        await anyio.sleep(0.1)
    assert not any(key.name == "idle" for key in list(found.sessions))
