"""The admin UI in a real Chromium: sign-in through a real local OIDC issuer (code + PKCE), the whole
story of the issue, and its security properties. The official MCP client checks the outcome.

Set OMNI_MCP_ADMIN_SCREENSHOTS=<folder> to save every page at desktop and phone width (off by default).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp
import pytest
from loguru import logger
from mcp.client.streamable_http import streamable_http_client
from playwright.sync_api import Browser, Page, expect

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.admin.conftest import OPERATOR
from tests.oidc_issuer import AUDIENCE, TestIssuer, running_issuer
from tests.sample_plugins import CrmPlugin, EchoPlugin

SECRET = "sk-story-SECRET-value-9431"
XSS = "<script>window.pwned=1</script>"
SCREENSHOTS = os.environ.get("OMNI_MCP_ADMIN_SCREENSHOTS")


@dataclass
class Site:
    gateway: RunningGateway
    issuer: TestIssuer
    logs: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    """Every page's HTML the browser was shown (checked for secrets)."""

    @property
    def url(self) -> str:
        return self.gateway.base_url

    def sign_in(self, page: Page, sub: str, org: str, role: str) -> None:
        self.issuer.signin_claims = {"sub": sub, "org_id": org, "org_role": role, "permissions": []}
        page.goto(self.url + "/admin")
        page.wait_for_url(re.compile(r"/admin$"))

    def visit(self, page: Page, path: str, name: str | None = None) -> None:
        page.goto(self.url + path)
        self.look(page, name)

    def look(self, page: Page, name: str | None = None) -> None:
        self.seen.append(page.content())
        assert page.evaluate("window.pwned") is None  # no injected script ever ran
        if SCREENSHOTS and name:
            folder = Path(SCREENSHOTS)
            folder.mkdir(parents=True, exist_ok=True)
            for width, height, form in ((1280, 900, "desktop"), (390, 844, "phone")):
                page.set_viewport_size({"width": width, "height": height})
                page.screenshot(path=folder / f"{name}-{form}.png", full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with running_issuer() as issuer, fresh_database_url() as url:
        settings = make_test_settings(
            url,
            auth={"local_mode": False, "issuers": [issuer.url], "resource": AUDIENCE},
            admin={"operators": [OPERATOR], "oidc_client_id": issuer.client_id},
        )
        logs: list[str] = []
        sink = logger.add(lambda message: logs.append(str(message)), level="DEBUG")
        try:
            with serve_in_thread(settings, [("crm", CrmPlugin()), ("demo", EchoPlugin())]) as gateway:
                yield Site(gateway, issuer, logs)
        finally:
            logger.remove(sink)


@pytest.fixture
def operator_page(site: Site, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    site.sign_in(page, OPERATOR, "default", "org:member")
    yield page
    context.close()


def submit(page: Page, form: str, button: str) -> None:
    page.locator(form).get_by_role("button", name=button).click()
    page.wait_for_load_state()


def in_thread(coroutine: Any) -> Any:
    """Run an async MCP client beside Playwright's own loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


async def mcp_prompts(site: Site, key: str, era: str) -> dict[str, Any]:
    http = httpx2.AsyncClient(headers={"x-api-key": key})
    transport = streamable_http_client(site.gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode=era, cache=None) as client:
        listed = await client.list_prompts()
        got = await client.get_prompt("crm_follow_up", {"customer": "Ann"})
        resources = await client.list_resources()
    return {
        "prompts": {p.name: p.description for p in listed.prompts},
        "text": got.messages[0].content.text,  # type: ignore[union-attr]
        "resources": {str(r.uri) for r in resources.resources},
    }


def test_the_whole_story_and_the_mcp_client_sees_it(site: Site, operator_page: Page) -> None:
    page = operator_page
    site.look(page, "overview")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "omni_admin_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain http on loopback; behind https it is Secure

    # Create an organization whose name is a script: shown as text everywhere.
    page.get_by_label("Slug").fill("story")
    page.get_by_label("Name").fill(XSS + " Story Inc")
    submit(page, "form[action='/admin/orgs']", "Create organization")
    page.wait_for_url(re.compile(r"/admin/orgs/story"))
    site.look(page, "organization")
    expect(page.get_by_role("heading", level=1)).to_contain_text(XSS)
    site.visit(page, "/admin")
    expect(page.get_by_role("cell", name=XSS + " Story Inc")).to_be_visible()

    # Add a member.
    site.visit(page, "/admin/orgs/story")
    page.get_by_label("User id").fill("user_bob")
    page.get_by_label("Role").select_option("member")
    submit(page, "form[action='/admin/orgs/story/members']", "Add member")
    expect(page.get_by_role("cell", name="user_bob")).to_be_visible()

    # Disable and enable a service; set its secret, which is never shown again.
    site.visit(page, "/admin/orgs/story/services", "services")
    page.get_by_role("button", name="Disable demo").click()
    expect(page.get_by_role("button", name="Enable demo")).to_be_visible()
    page.get_by_role("button", name="Enable demo").click()
    expect(page.get_by_role("button", name="Disable demo")).to_be_visible()
    page.locator("input[name='setting:api_key']").fill(SECRET)
    page.get_by_role("button", name="Save settings of crm").click()
    page.wait_for_load_state()
    site.look(page)
    expect(page.locator("input[name='setting:api_key']")).to_have_attribute("placeholder", re.compile("set"))
    assert SECRET not in page.content()

    # Override a prompt and test it live (HTMX), with the diff against the default.
    site.visit(page, "/admin/orgs/story/prompts", "prompts")
    page.get_by_role("link", name="crm_follow_up").click()
    page.get_by_label("Description").fill("Story override")
    page.get_by_label("Title").fill(XSS)
    page.locator("#template").fill("Story follow-up for {customer}")
    submit(page, "#editor", "Save")
    expect(page.get_by_role("status")).to_contain_text("saved")
    page.locator("#live-test").get_by_label("customer").fill("Ann")
    page.get_by_role("button", name="Render").click()
    expect(page.locator("#render-result pre.message")).to_have_text("Story follow-up for Ann")
    expect(page.locator("#render-result pre.diff")).to_contain_text("-Default follow-up for Ann")
    site.look(page, "prompt-editor")
    expect(page.get_by_label("Title")).to_have_value(XSS)

    # Hide a resource.
    site.visit(page, "/admin/orgs/story/resources", "resources")
    page.get_by_role("button", name="Hide crm://playbook").click()
    expect(page.get_by_role("row", name=re.compile(r"crm:\/\/playbook.*hidden"))).to_be_visible()

    # Create an API key (shown once), and see what an MCP client with it sees, in both eras.
    site.visit(page, "/admin/orgs/story/keys", "keys")
    page.get_by_label("Name").fill("story-key")
    page.get_by_label("Role").select_option("admin")
    submit(page, "main form", "Create key")
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("omk_")
    site.look(page)
    for era in ("legacy", "2026-07-28"):
        seen = in_thread(mcp_prompts(site, key, era))
        assert seen["prompts"]["crm_follow_up"] == "Story override"
        assert seen["text"] == "Story follow-up for Ann"
        assert "crm://playbook" not in seen["resources"]
    site.visit(page, "/admin/orgs/story/keys")
    assert key not in page.content()  # shown once only

    # Revoke it: the MCP client is refused.
    key_id = key.rsplit("_", 1)[0]
    page.get_by_role("button", name=f"Revoke {key_id}").click()
    expect(page.get_by_role("row", name=re.compile(f"{key_id}.*revoked"))).to_be_visible()
    refused = httpx.post(
        site.gateway.mcp_url,
        headers={"x-api-key": key, "accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
    )
    assert refused.status_code == 401
    with pytest.raises(Exception):  # noqa: B017, PT011 (the SDK's error type for a 401 differs by era)
        in_thread(mcp_prompts(site, key, "2026-07-28"))

    # Read the audit: every change above, by the operator who signed in.
    site.visit(page, "/admin/orgs/story/audit", "audit")
    for entity, action in [
        ("membership", "create"),
        ("service", "disable"),
        ("service_settings", "update"),
        ("prompt", "create"),
        ("resource", "hide"),
        ("api_key", "revoke"),
    ]:
        expect(page.get_by_role("row", name=re.compile(f"{entity} .*{action}"))).to_have_count(1)
    expect(page.get_by_role("cell", name=f"user:{OPERATOR}").first).to_be_visible()
    page.get_by_label("Entity").fill("api_key")
    submit(page, "main form", "Filter")
    expect(page.locator("tbody tr")).to_have_count(2)
    site.visit(page, "/admin/orgs/story/calls", "calls")
    expect(page.get_by_role("cell", name="crm_follow_up").first).to_be_visible()

    # The secret appeared in no page and no log line.
    assert not any(SECRET in html for html in site.seen)
    assert not any(SECRET in line for line in site.logs)


def test_a_form_post_without_the_csrf_token_is_refused(site: Site, operator_page: Page) -> None:
    site.visit(operator_page, "/admin/orgs/default")
    before = httpx.get(
        site.url + "/api/v1/organizations/default/members", headers=operator_headers(site)
    ).json()
    for data in (
        {"user": "mallory", "role": "owner"},
        {"user": "mallory", "role": "owner", "csrf_token": "forged-token-of-32-characters-x"},
    ):
        response = operator_page.request.post(
            site.url + "/admin/orgs/default/members", form=data, max_redirects=0
        )
        assert response.status == 403
        assert "CSRF" in response.text()
    after = httpx.get(
        site.url + "/api/v1/organizations/default/members", headers=operator_headers(site)
    ).json()
    assert before == after


def operator_headers(site: Site) -> dict[str, str]:
    token = site.issuer.token(sub=OPERATOR, org_id="default", org_role="org:member", permissions=[])
    return {"authorization": f"Bearer {token}"}


def test_a_member_cannot_open_admin_pages(site: Site, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    site.issuer.signin_claims = {
        "sub": "user_member",
        "org_id": "default",
        "org_role": "org:member",
        "permissions": [],
    }
    page.goto(site.url + "/admin")
    expect(page.get_by_role("heading", name="403")).to_be_visible()
    for path in (
        "/admin/orgs/default",
        "/admin/orgs/default/keys",
        "/admin/orgs/default/audit",
        "/admin/orgs/default/prompts",
    ):
        response = page.goto(site.url + path)
        assert response is not None and response.status == 403
    context.close()


def test_without_a_session_pages_redirect_to_sign_in_and_forms_are_refused(site: Site) -> None:
    page = httpx.get(site.url + "/admin/orgs/default/keys", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")
    form = httpx.post(site.url + "/admin/orgs/default/keys", data={"role": "owner"})
    assert form.status_code == 401
    forged = httpx.get(
        site.url + "/admin", cookies={"omni_admin_session": "eyJzdWIiOiJ4In0.AAAA"}, follow_redirects=False
    )
    assert forged.status_code == 303


def test_pages_have_a_policy_without_inline_script(site: Site, operator_page: Page) -> None:
    response = operator_page.goto(site.url + "/admin/orgs/default/prompts/crm_follow_up")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert operator_page.locator("script:not([src])").count() == 0
