"""Fixtures: the fake Perplexity API, and a real omni-mcp server with the plugin configured against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import omni_mcp_perplexity.plugin as perplexity_plugin
import pytest
from fake_perplexity import FakePerplexity, running_fake
from perplexity_helpers import ERAS, gateway_settings, standard_settings

from omni_mcp.testing import RunningGateway, fresh_database_url, serve_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    """Run the test once per protocol era: handshake (legacy) and 2026-07-28 (stateless)."""
    return str(request.param)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakePerplexity]:
    with running_fake() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakePerplexity) -> FakePerplexity:
    """The fake API with no scripted behaviours and no recorded requests."""
    fake_server.reset()
    return fake_server


@pytest.fixture(scope="module")
def gateway(fake_server: FakePerplexity) -> Iterator[RunningGateway]:
    """One real server per test module, with the plugin and a short gateway tool_timeout."""
    plugins = [("perplexity", perplexity_plugin)]
    with (
        fresh_database_url() as url,
        serve_in_thread(gateway_settings(url, base_url=fake_server.url), plugins) as running,
    ):
        yield running


@pytest.fixture
def configure(gateway: RunningGateway, fake: FakePerplexity) -> Callable[..., None]:
    """Reset the default organization's settings to the standard ones; call it to change some."""

    def change(organization: str = "default", **values: Any) -> None:
        tenancy = gateway.app.state.runtime.tenancy
        tenancy.set_service_settings(organization, "perplexity", values, actor="test")

    change(**standard_settings())
    return change
