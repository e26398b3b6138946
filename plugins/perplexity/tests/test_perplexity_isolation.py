"""Two organizations on one database: each has its own key and sees only its own search history.

Every request to a server is its default organization (no authentication yet), so each organization
gets a server of its own, both on the same database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import mcp
import mcp.types as types
import omni_mcp_perplexity.plugin as perplexity_plugin
import pytest
from fake_perplexity import FakePerplexity
from mcp.shared.exceptions import MCPError
from perplexity_helpers import gateway_settings, standard_settings

from omni_mcp import Settings
from omni_mcp.testing import RunningGateway, fresh_database_url, serve_in_thread

pytestmark = pytest.mark.anyio

GLOBEX_KEY = "pplx-globex-key-9876543210"


@pytest.fixture(scope="module")
def two_organizations(fake_server: FakePerplexity) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    plugins = [("perplexity", perplexity_plugin)]
    with fresh_database_url() as url:

        def settings_for(org: str) -> Settings:
            return gateway_settings(url, base_url=fake_server.url, tenancy={"default_organization": org})

        with (
            serve_in_thread(settings_for("acme"), plugins) as acme,
            serve_in_thread(settings_for("globex"), plugins) as globex,
        ):
            yield acme, globex


async def read_json(client: mcp.Client, uri: str) -> dict[str, object]:
    content = (await client.read_resource(uri)).contents[0]
    assert isinstance(content, types.TextResourceContents)
    data: dict[str, object] = json.loads(content.text)
    return data


async def test_search_history_and_settings_are_per_organization(
    two_organizations: tuple[RunningGateway, RunningGateway], fake: FakePerplexity, era: str
) -> None:
    acme, globex = two_organizations
    fake.keys.add(GLOBEX_KEY)
    # Each through its own server, so each server's configuration cache is refreshed at once.
    acme.app.state.runtime.tenancy.set_service_settings(
        "acme", "perplexity", standard_settings(), actor="test"
    )
    globex.app.state.runtime.tenancy.set_service_settings(
        "globex", "perplexity", {**standard_settings(), "api_key": GLOBEX_KEY}, actor="test"
    )

    async with (
        mcp.Client(acme.mcp_url, mode=era) as acme_client,
        mcp.Client(globex.mcp_url, mode=era) as globex_client,
    ):
        mine = await acme_client.call_tool("perplexity_search", {"query": f"acme secret plan {era}"})
        theirs = await globex_client.call_tool("perplexity_search", {"query": f"globex roadmap {era}"})
        assert mine.structured_content is not None and theirs.structured_content is not None
        acme_uri = mine.structured_content["stored_as"]
        globex_uri = theirs.structured_content["stored_as"]

        acme_listing = await read_json(acme_client, "perplexity://searches")
        globex_listing = await read_json(globex_client, "perplexity://searches")
        assert acme_listing["organization"] == "acme" and globex_listing["organization"] == "globex"
        acme_uris = {entry["uri"] for entry in acme_listing["searches"]}  # type: ignore[attr-defined]
        globex_uris = {entry["uri"] for entry in globex_listing["searches"]}  # type: ignore[attr-defined]
        assert acme_uri in acme_uris and globex_uri not in acme_uris
        assert globex_uri in globex_uris and acme_uri not in globex_uris

        assert (await read_json(acme_client, acme_uri))["query"] == f"acme secret plan {era}"
        with pytest.raises(MCPError, match="Resource not found"):
            await acme_client.read_resource(globex_uri)
        with pytest.raises(MCPError, match="Resource not found"):
            await globex_client.read_resource(acme_uri)

        knowledge = (await globex_client.read_resource("perplexity://knowledge-base")).contents[0]
        assert isinstance(knowledge, types.TextResourceContents)
        assert "globex roadmap" in knowledge.text and "acme" not in knowledge.text

    keys = {r.body["query"]: r.authorization for r in fake.to("/search")}
    assert keys == {
        f"acme secret plan {era}": "Bearer pplx-test-key-0123456789",
        f"globex roadmap {era}": f"Bearer {GLOBEX_KEY}",
    }
