"""Fixtures: the local test site, and one real omni-mcp server with the devtools plugin per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import omni_mcp_devtools.plugin as devtools_plugin
import pytest
from devtools_helpers import ERAS, gateway_settings
from site_server import LocalSite, serve_site

from omni_mcp.testing import RunningGateway, fresh_database_url, serve_in_thread

CHROMIUM = "/usr/bin/chromium"

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium these tests skip, saying why; where it is required (CI) they fail instead."""
    if os.access(CHROMIUM, os.X_OK):
        return
    if os.environ.get("OMNI_MCP_TEST_REQUIRE_CHROMIUM"):
        raise pytest.UsageError(
            f"OMNI_MCP_TEST_REQUIRE_CHROMIUM is set but there is no Chromium at {CHROMIUM}"
        )
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium); CI installs it")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(skip)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    """Run the test once per protocol era: handshake (legacy) and 2026-07-28 (stateless)."""
    return str(request.param)


@pytest.fixture(scope="session")
def site() -> Iterator[LocalSite]:
    with serve_site() as running:
        yield running


@pytest.fixture(scope="module")
def gateway(site: LocalSite) -> Iterator[RunningGateway]:
    """One real server (and so one browser) per test module, allowed to reach the test site only."""
    with (
        fresh_database_url() as url,
        serve_in_thread(gateway_settings(url, site), [("devtools", devtools_plugin)]) as running,
    ):
        yield running
