"""RBAC through the real gateway: what each role, key allow-list and permission plugin may see and do."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import mcp
import mcp.types as types
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from omni_mcp import Actor, hookimpl
from omni_mcp.gateway.visibility import PERMISSION_DENIED
from omni_mcp.settings import Settings
from omni_mcp.testing import RunningGateway, serve_in_thread
from tests.sample_plugins import CrmPlugin, EchoPlugin, HeaderActorPlugin

pytestmark = pytest.mark.anyio

CRM_TOOLS = {"crm_whoami", "crm_remember", "crm_notes", "crm_purge"}


class DenyCrashPlugin:
    """A permission plugin: nobody may call demo_crash, whatever their role."""

    @hookimpl
    def permission_allowed(self, actor: Actor, permission: str, target: str | None) -> bool | None:
        return False if target == "demo_crash" else None


@pytest.fixture
def gateway(omni_settings: Settings) -> Iterator[RunningGateway]:
    plugins = [
        ("header-auth", HeaderActorPlugin()),
        ("deny-crash", DenyCrashPlugin()),
        ("crm", CrmPlugin()),
        ("demo", EchoPlugin()),
    ]
    with serve_in_thread(omni_settings, plugins) as running:
        running.configure(lambda t: t.create_organization("acme", actor="test"))
        running.configure(lambda t: t.create_organization("globex", actor="test"))
        running.configure(
            lambda t: t.set_prompt("globex", "globex_secret", {"template": "for globex"}, actor="t")
        )
        running.configure(lambda t: t.set_resource("globex", "globex://plans", {"text": "plans"}, actor="t"))
        yield running


@contextlib.asynccontextmanager
async def as_actor(gateway: RunningGateway, era: str, **headers: str) -> AsyncIterator[mcp.Client]:
    """A client whose requests carry the test actor's headers (the HTTP client is ours to close)."""
    http = httpx2.AsyncClient(headers={f"x-test-{k.replace('_', '-')}": v for k, v in headers.items()})
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode=era, cache=None) as client:
        yield client


async def names(client: mcp.Client) -> dict[str, set[str]]:
    return {
        "tools": {t.name for t in (await client.list_tools()).tools},
        "prompts": {p.name for p in (await client.list_prompts()).prompts},
        "resources": {str(r.uri) for r in (await client.list_resources()).resources},
    }


async def expect_error(call: Any) -> MCPError:
    try:
        await call
    except MCPError as error:
        return error
    raise AssertionError("the call was not refused")


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_member_cannot_see_or_call_an_admin_only_tool(gateway: RunningGateway, era: str) -> None:
    async with as_actor(gateway, era, organization="acme", role="member") as client:
        assert "crm_purge" not in (await names(client))["tools"]
        refused = await expect_error(client.call_tool("crm_purge", {}))
    assert refused.code == PERMISSION_DENIED
    assert refused.message == (
        "Permission denied: user with role 'member' may not call tool 'crm_purge' (needs services:manage)"
    )
    async with as_actor(gateway, era, organization="acme", role="admin") as client:
        assert "crm_purge" in (await names(client))["tools"]
        allowed = await client.call_tool("crm_purge", {})
    assert allowed.content[0].text == "purged"  # type: ignore[union-attr]


async def test_a_key_allow_list_limits_tools_and_hides_the_rest(gateway: RunningGateway) -> None:
    async with as_actor(
        gateway, "2026-07-28", organization="acme", role="admin", tools="demo_echo"
    ) as client:
        assert (await names(client))["tools"] == {"demo_echo"}
        echoed = await client.call_tool("demo_echo", {"text": "ok"})
        outside = await expect_error(client.call_tool("crm_whoami", {}))
        absent = await expect_error(client.call_tool("no_such_tool", {}))
    assert echoed.content[0].text == "ok"  # type: ignore[union-attr]
    # A real tool and a made-up name are refused alike: the refusal confirms nothing exists.
    assert outside.code == absent.code == PERMISSION_DENIED
    assert outside.message == (
        "Permission denied: this API key may not call tool 'crm_whoami' (not in its allow-list)"
    )
    assert absent.message == outside.message.replace("crm_whoami", "no_such_tool")


def raw_call(gateway: RunningGateway, method: str, params: dict[str, Any], **headers: str) -> httpx2.Response:
    """One 2026-07-28 request as plain HTTP, to see the status and headers the gateway answers with."""
    name = params.get("name", params.get("uri"))
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    }
    return httpx2.post(
        gateway.mcp_url,
        json={"jsonrpc": "2.0", "id": "req-7", "method": method, "params": {**params, "_meta": envelope}},
        headers={
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": method,
            **({"mcp-name": str(name)} if name is not None else {}),
            **{f"x-test-{k.replace('_', '-')}": v for k, v in headers.items()},
        },
        timeout=10,
    )


@pytest.mark.parametrize(
    ("method", "params", "actor", "scope", "message"),
    [
        (
            "tools/call",
            {"name": "crm_purge", "arguments": {}},
            {"role": "member"},
            "services:manage",
            "Permission denied: user with role 'member' may not call tool 'crm_purge' "
            "(needs services:manage)",
        ),
        (
            "tools/call",
            {"name": "crm_whoami", "arguments": {}},
            {"role": "admin", "tools": "demo_echo"},
            None,
            "Permission denied: this API key may not call tool 'crm_whoami' (not in its allow-list)",
        ),
        (
            "prompts/get",
            {"name": "crm_follow_up", "arguments": {"customer": "x"}},
            {"role": "guest"},
            "prompts:read",
            "Permission denied: user with role 'guest' may not get prompt 'crm_follow_up' "
            "(needs prompts:read)",
        ),
        (
            "resources/read",
            {"uri": "crm://playbook"},
            {"role": "guest"},
            "resources:read",
            "Permission denied: user with role 'guest' may not read resource 'crm://playbook' "
            "(needs resources:read)",
        ),
    ],
)
async def test_a_refused_call_is_http_403_with_an_insufficient_scope_challenge(
    gateway: RunningGateway,
    method: str,
    params: dict[str, Any],
    actor: dict[str, str],
    scope: str | None,
    message: str,
) -> None:
    response = raw_call(gateway, method, params, organization="acme", **actor)
    assert response.status_code == 403, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert (f'scope="{scope}"' in challenge) == (scope is not None)
    assert 'resource_metadata="http://127.0.0.1:' in challenge
    assert f'error_description="{message}"' in challenge
    body = response.json()
    assert body["id"] == "req-7"  # the refused request's own id
    assert body["error"]["code"] == PERMISSION_DENIED
    assert body["error"]["message"] == message


async def test_a_tool_the_org_does_not_serve_is_unknown_not_forbidden(gateway: RunningGateway) -> None:
    gateway.configure(lambda t: t.set_service_enabled("acme", "crm", False, actor="test"))
    response = raw_call(gateway, "tools/call", {"name": "crm_purge", "arguments": {}}, organization="acme")
    assert response.status_code == 400  # what the SDK answers an unknown name with, for anyone
    assert response.json()["error"]["message"] == "Unknown tool: crm_purge"


async def test_a_role_without_permissions_sees_nothing(gateway: RunningGateway) -> None:
    async with as_actor(gateway, "2026-07-28", organization="acme", role="guest") as client:
        assert await names(client) == {"tools": set(), "prompts": set(), "resources": set()}
        prompt = await expect_error(client.get_prompt("crm_follow_up", {"customer": "x"}))
        resource = await expect_error(client.read_resource("crm://playbook"))
        tool = await expect_error(client.call_tool("demo_echo", {"text": "x"}))
    assert prompt.code == resource.code == tool.code == PERMISSION_DENIED
    assert "(needs prompts:read)" in prompt.message
    assert "(needs resources:read)" in resource.message


async def test_a_permission_plugin_can_deny_what_the_role_allows(gateway: RunningGateway) -> None:
    async with as_actor(gateway, "legacy", organization="acme", role="owner") as client:
        refused = await expect_error(client.call_tool("demo_crash", {}))
        fine = await client.call_tool("demo_echo", {"text": "x"})
    assert refused.code == PERMISSION_DENIED
    assert not fine.is_error


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_an_actor_of_one_org_cannot_reach_anothers_prompts_or_resources(
    gateway: RunningGateway, era: str
) -> None:
    async with as_actor(gateway, era, organization="acme", role="owner") as client:
        seen = await names(client)
        prompt = await expect_error(client.get_prompt("globex_secret", {}))
        resource = await expect_error(client.read_resource("globex://plans"))
    assert "globex_secret" not in seen["prompts"]
    assert "globex://plans" not in seen["resources"]
    assert prompt.message == "Unknown prompt: globex_secret"
    assert resource.message == "Resource not found: globex://plans"
    async with as_actor(gateway, era, organization="globex", role="member") as client:
        assert "globex_secret" in (await names(client))["prompts"]
        rendered = await client.get_prompt("globex_secret", {})
    assert isinstance(rendered.messages[0].content, types.TextContent)


async def test_an_unknown_organization_is_refused(gateway: RunningGateway) -> None:
    async with as_actor(gateway, "2026-07-28", organization="nobody", role="owner") as client:
        refused = await expect_error(client.list_tools())
    assert refused.message == "Unknown organization: nobody"


async def test_a_failing_permission_plugin_fails_closed(omni_settings: Settings) -> None:
    class Broken:
        @hookimpl(tryfirst=True)
        def permission_allowed(self) -> bool:
            raise RuntimeError("rule engine down")

    with serve_in_thread(omni_settings, [("broken-rules", Broken()), ("demo", EchoPlugin())]) as running:
        async with mcp.Client(running.mcp_url, mode="2026-07-28", cache=None) as client:
            assert (await client.list_tools()).tools == []
            refused = await expect_error(client.call_tool("demo_echo", {"text": "x"}))
    assert refused.code == PERMISSION_DENIED
