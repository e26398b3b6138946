from __future__ import annotations

from collections.abc import Iterator

import pytest

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin, FailingStartupPlugin, SickPlugin

ERAS = ["legacy", "2026-07-28"]


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    """One real server for a test module: a healthy, a failing and a sick plugin side by side."""
    plugins = [("demo", EchoPlugin()), ("broken", FailingStartupPlugin()), ("sick", SickPlugin())]
    with fresh_database_url() as url:
        settings = make_test_settings(url, gateway={"tool_timeout": 1.0, "max_body_bytes": 64 * 1024})
        with serve_in_thread(settings, plugins) as running:
            yield running


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    """Run the test once per protocol era: handshake (legacy) and 2026-07-28 (stateless)."""
    return str(request.param)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
