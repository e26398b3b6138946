"""An API key's allow-list limits everything it reaches: tools, prompts and resources, by name or by server.

Real keys against a real server, through the SDK client in both eras: a key made with `--tools` only
reaches no prompt or resource (none listed, each refused); naming prompts, resources (URIs or URI
templates) or whole servers opens exactly those; a key without an allow-list reaches what its role allows.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import mcp
import mcp.types as types
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.gateway.visibility import PERMISSION_DENIED
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.sample_plugins import CrmPlugin, EchoPlugin

pytestmark = pytest.mark.anyio

ERAS = ["legacy", "2026-07-28"]


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    from omni_mcp.testing import fresh_database_url

    with fresh_database_url() as url:
        settings = make_test_settings(url, auth={"local_mode": False})
        with serve_in_thread(settings, [("demo", EchoPlugin()), ("crm", CrmPlugin())]) as running:
            yield running


def make_key(gateway: RunningGateway, **allow: list[str]) -> str:
    return api_key_service(gateway.runtime).create("default", role="member", actor="test", **allow).key


@contextlib.asynccontextmanager
async def client_for(gateway: RunningGateway, key: str, era: str) -> AsyncIterator[mcp.Client]:
    http = httpx2.AsyncClient(headers={"x-api-key": key})
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode=era, cache=None) as client:
        yield client


async def reach(client: mcp.Client) -> dict[str, set[str]]:
    return {
        "tools": {t.name for t in (await client.list_tools()).tools},
        "prompts": {p.name for p in (await client.list_prompts()).prompts},
        "resources": {str(r.uri) for r in (await client.list_resources()).resources},
        "templates": {t.uri_template for t in (await client.list_resource_templates()).resource_templates},
    }


async def refusal(call: Any) -> MCPError:
    try:
        await call
    except MCPError as error:
        return error
    raise AssertionError("the call was not refused")


@pytest.mark.parametrize("era", ERAS)
async def test_a_key_limited_to_tools_reaches_no_prompt_or_resource(
    gateway: RunningGateway, era: str
) -> None:
    key = make_key(gateway, tools=["demo_echo"])
    async with client_for(gateway, key, era) as client:
        assert await reach(client) == {
            "tools": {"demo_echo"},
            "prompts": set(),
            "resources": set(),
            "templates": set(),
        }
        prompt = await refusal(client.get_prompt("demo_greet", {"name": "x"}))
        fixed = await refusal(client.read_resource("demo://readme"))
        templated = await refusal(client.read_resource("demo://items/7"))
        other = await refusal(client.read_resource("crm://playbook"))
        absent = await refusal(client.read_resource("nowhere://at-all"))
        completion = await refusal(
            client.complete(
                types.PromptReference(type="ref/prompt", name="demo_greet"), {"name": "mood", "value": "c"}
            )
        )
        assert (await client.call_tool("demo_echo", {"text": "ok"})).content[0].text == "ok"  # type: ignore[union-attr]
    for refused in (prompt, fixed, templated, other, absent, completion):
        assert refused.code == PERMISSION_DENIED, refused.message
    assert (
        prompt.message
        == "Permission denied: this API key may not get prompt 'demo_greet' (not in its allow-list)"
    )
    assert (
        fixed.message
        == "Permission denied: this API key may not read resource 'demo://readme' (not in its allow-list)"
    )
    # A resource that exists and one that does not are refused alike: the refusal confirms nothing.
    assert absent.message == fixed.message.replace("demo://readme", "nowhere://at-all")


@pytest.mark.parametrize("era", ERAS)
async def test_named_prompts_and_resource_templates_are_reached_and_nothing_else(
    gateway: RunningGateway, era: str
) -> None:
    key = make_key(gateway, tools=["demo_echo"], prompts=["demo_greet"], resources=["demo://items/{id}"])
    async with client_for(gateway, key, era) as client:
        assert await reach(client) == {
            "tools": {"demo_echo"},
            "prompts": {"demo_greet"},
            "resources": set(),
            "templates": {"demo://items/{id}"},
        }
        greeting = await client.get_prompt("demo_greet", {"name": "Ada"})
        item = await client.read_resource("demo://items/7")
        moods = await client.complete(
            types.PromptReference(type="ref/prompt", name="demo_greet"), {"name": "mood", "value": "c"}
        )
        readme = await refusal(client.read_resource("demo://readme"))
        crm_prompt = await refusal(client.get_prompt("crm_follow_up", {"customer": "x"}))
        crm_tool = await refusal(client.call_tool("crm_whoami", {}))
    assert "Hello Ada!" in greeting.messages[0].content.text  # type: ignore[union-attr]
    assert item.contents[0].text == "item 7 for default"  # type: ignore[union-attr]
    assert moods.completion.values == ["calm", "cheerful", "curious"]
    assert readme.code == crm_prompt.code == crm_tool.code == PERMISSION_DENIED


@pytest.mark.parametrize("era", ERAS)
async def test_a_server_in_the_allow_list_opens_all_of_it(gateway: RunningGateway, era: str) -> None:
    key = make_key(gateway, servers=["crm"])
    async with client_for(gateway, key, era) as client:
        seen = await reach(client)
        playbook = await client.read_resource("crm://playbook")
        follow_up = await client.get_prompt("crm_follow_up", {"customer": "Ada"})
        echo = await refusal(client.call_tool("demo_echo", {"text": "x"}))
        readme = await refusal(client.read_resource("demo://readme"))
    assert seen == {
        "tools": {"crm_whoami", "crm_remember", "crm_notes"},  # crm_purge needs more than a member's role
        "prompts": {"crm_follow_up", "crm_code_prompt"},
        "resources": {"crm://playbook"},
        "templates": set(),
    }
    assert playbook.contents[0].text == "default playbook"  # type: ignore[union-attr]
    assert "Ada" in follow_up.messages[0].content.text  # type: ignore[union-attr]
    assert echo.code == readme.code == PERMISSION_DENIED


async def test_a_key_without_an_allow_list_reaches_what_its_role_allows(gateway: RunningGateway) -> None:
    async with client_for(gateway, make_key(gateway), "2026-07-28") as client:
        seen = await reach(client)
        assert (await client.read_resource("demo://readme")).contents[0].text == "read me"  # type: ignore[union-attr]
    assert {"demo_greet", "crm_follow_up"} <= seen["prompts"]
    assert {"demo://readme", "crm://playbook"} <= seen["resources"]
    assert seen["templates"] == {"demo://items/{id}"}


def test_a_refused_resource_read_is_http_403(gateway: RunningGateway) -> None:
    key = make_key(gateway, tools=["demo_echo"])
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    }
    response = httpx2.post(
        gateway.mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 3,
            "method": "resources/read",
            "params": {"uri": "demo://readme", "_meta": meta},
        },
        headers={
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "resources/read",
            "mcp-name": "demo://readme",
            "x-api-key": key,
        },
        timeout=10,
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == PERMISSION_DENIED


@pytest.fixture
def env(omni_database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    clean.update(OMNI_MCP_DATABASE__URL=omni_database_url, OMNI_MCP_PLUGINS__ALLOW="[]")
    return clean


def omni(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_creates_keys_with_each_kind_of_allow_list_and_lists_what_each_reaches(
    env: dict[str, str],
) -> None:
    made = omni(
        env,
        "apikey",
        "create",
        "default",
        "--role",
        "member",
        "--tools",
        "probe_whoami",
        "--prompts",
        "crm_follow_up",
        "--resources",
        "crm://playbook,demo://items/{id}",
        "--servers",
        "linear",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["tools"] == ["probe_whoami"]
    assert created["prompts"] == ["crm_follow_up"]
    assert created["resources"] == ["crm://playbook", "demo://items/{id}"]
    assert created["servers"] == ["linear"]
    # Nothing named is served here (no plugins loaded): each is a warning, not an error.
    assert "no installed plugin serves a prompt named 'crm_follow_up'" in made.stderr
    assert "no installed plugin named 'linear'" in made.stderr

    tools_only = json.loads(
        omni(env, "apikey", "create", "default", "--role", "member", "--tools", "a", "--json").stdout
    )
    assert (tools_only["prompts"], tools_only["resources"], tools_only["servers"]) == ([], [], [])
    unlimited = json.loads(omni(env, "apikey", "create", "default", "--role", "admin", "--json").stdout)
    assert (unlimited["tools"], unlimited["prompts"], unlimited["resources"], unlimited["servers"]) == (
        None,
        None,
        None,
        None,
    )

    empty = omni(env, "apikey", "create", "default", "--role", "member", "--prompts", " , ")
    assert empty.returncode != 0 and "--prompts needs at least one name" in empty.stderr

    listing = omni(env, "apikey", "list", "default")
    assert listing.returncode == 0, listing.stderr
    lines = {line.split()[0]: line for line in listing.stdout.splitlines()}
    assert (
        "reaches tools=probe_whoami prompts=crm_follow_up "
        "resources=crm://playbook,demo://items/{id} servers=linear"
    ) in lines[created["id"]]
    assert "reaches tools=a prompts=none resources=none servers=none" in lines[tools_only["id"]]
    assert "reaches everything its role allows" in lines[unlimited["id"]]


def test_keys_made_with_tools_before_the_upgrade_keep_reaching_tools_only(omni_database_url: str) -> None:
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from omni_mcp.auth.api_keys import ApiKeyService
    from omni_mcp.db import migrate
    from omni_mcp.db.engine import create_db_engine
    from omni_mcp.settings import DatabaseSettings

    engine = create_db_engine(DatabaseSettings(url=omni_database_url))
    try:
        migrate.upgrade(engine, "0005")
        tables = sa.MetaData()
        tables.reflect(engine, only=["organizations", "api_keys"])
        now = datetime.now(UTC)
        with engine.begin() as connection:
            connection.execute(
                tables.tables["organizations"].insert().values(id=1, slug="acme", name="acme", created_at=now)
            )
            for prefix, tools in (("omk_limited0", ["demo_echo"]), ("omk_unlimitd", None)):
                connection.execute(
                    tables.tables["api_keys"]
                    .insert()
                    .values(
                        organization_id=1,
                        prefix=prefix,
                        key_hash="0" * 64,
                        name="",
                        role="member",
                        permissions=[],
                        allowed_tools=tools,
                        created_by="test",
                        created_at=now,
                    )
                )
        migrate.upgrade(engine)
        service = ApiKeyService(engine)
        limited, unlimited = service.lookup("omk_limited0"), service.lookup("omk_unlimitd")
        assert limited is not None and unlimited is not None
        assert limited.allowed_tools == {"demo_echo"}
        assert limited.allowed_prompts == limited.allowed_resources == limited.allowed_servers == frozenset()
        assert unlimited.allowed_tools is unlimited.allowed_prompts is unlimited.allowed_servers is None
        listed = {row["id"]: row for row in service.list_keys("acme")}
        assert listed["omk_limited0"]["prompts"] == [] and listed["omk_unlimitd"]["prompts"] is None
    finally:
        engine.dispose()
