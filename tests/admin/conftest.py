"""One real server per module for the admin tests: OIDC tokens from a local issuer, API keys, two orgs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from omni_mcp.default_plugins.api_keys import key_state
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.oidc_issuer import AUDIENCE, TestIssuer, running_issuer
from tests.sample_plugins import CrmPlugin, EchoPlugin

OPERATOR = "user_root"


@dataclass
class AdminWorld:
    gateway: RunningGateway
    issuer: TestIssuer
    keys: dict[str, str]

    @property
    def api(self) -> str:
        return self.gateway.base_url + "/api/v1"

    def token(self, sub: str, org: str, role: str, permissions: list[str] | None = None) -> str:
        return self.issuer.token(sub=sub, org_id=org, org_role=role, permissions=permissions or [])

    def headers(self, who: str) -> dict[str, str]:
        """`operator`, `owner` (acme), `admin` (acme), `member` (acme), `other` (admin of globex)."""
        if who == "operator":
            return {"authorization": "Bearer " + self.token(OPERATOR, "default", "org:member")}
        if who == "owner":
            return {"authorization": "Bearer " + self.token("user_olivia", "acme", "owner")}
        return {"x-api-key": self.keys[who]}

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**(self.headers(who) if who else {}), **kwargs.pop("headers", {})}
        return httpx.request(method, self.api + path, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def world() -> Iterator[AdminWorld]:
    with running_issuer() as issuer, fresh_database_url() as url:
        settings = make_test_settings(
            url,
            auth={"local_mode": False, "issuers": [issuer.url], "resource": AUDIENCE},
            admin={"operators": [OPERATOR]},
        )
        with serve_in_thread(settings, [("crm", CrmPlugin()), ("demo", EchoPlugin())]) as gateway:
            gateway.configure(lambda t: t.create_organization("acme", "Acme", actor="test"))
            gateway.configure(lambda t: t.create_organization("globex", "Globex", actor="test"))
            service = key_state(gateway.runtime).service
            keys = {
                "admin": service.create("acme", role="admin", actor="test").key,
                "member": service.create("acme", role="member", actor="test").key,
                "other": service.create("globex", role="admin", actor="test").key,
            }
            yield AdminWorld(gateway, issuer, keys)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright's sync API, one per module (nothing downloaded: `playwright
    install` never runs). Stopped with the module: Playwright's event loop must not outlive it, or every
    later test that runs its own loop in this thread would find one already running."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    flags = [*CHROMIUM_FLAGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]  # root cannot sandbox
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            yield launched
        finally:
            launched.close()
