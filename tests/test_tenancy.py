"""Organizations: merged prompts/resources, per-org enablement, settings, audit, cache invalidation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import mcp
import mcp.types as types
import pytest
from mcp.shared.exceptions import MCPError
from sqlalchemy import text
from sqlmodel import Session, col, select

from omni_mcp.audit.models import AuditLog
from omni_mcp.settings import Settings
from omni_mcp.tenancy.service import ConfigError, TenancyService
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.sample_plugins import CrmPlugin

pytestmark = pytest.mark.anyio


@pytest.fixture
def two_orgs(omni_database_url: str) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    """Two servers on one database, each serving as a different organization (until auth lands)."""
    acme_settings = make_test_settings(omni_database_url, tenancy={"default_organization": "acme"})
    with serve_in_thread(acme_settings, [("crm", CrmPlugin())]) as acme:
        acme.configure(lambda t: t.create_organization("globex", "Globex", actor="test"))
        globex_settings = acme_settings.model_copy(
            update={"tenancy": acme_settings.tenancy.model_copy(update={"default_organization": "globex"})}
        )
        with serve_in_thread(globex_settings, [("crm", CrmPlugin())]) as globex:
            yield acme, globex


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def prompt_names(gateway: RunningGateway, era: str = "2026-07-28") -> list[str]:
    async with mcp.Client(gateway.mcp_url, mode=era, cache=None) as client:
        return sorted(p.name for p in (await client.list_prompts()).prompts)


async def prompt_text(gateway: RunningGateway, name: str, arguments: dict[str, str]) -> str:
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28", cache=None) as client:
        result = await client.get_prompt(name, arguments)
    content = result.messages[0].content
    assert isinstance(content, types.TextContent)
    return content.text


async def read_text(gateway: RunningGateway, uri: str) -> str:
    failure: MCPError | None = None
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28", cache=None) as client:
        try:
            result = await client.read_resource(uri)
        except MCPError as error:  # re-raised outside, so the client's task group does not wrap it
            failure = error
    if failure is not None:
        raise failure
    contents = result.contents[0]
    assert isinstance(contents, types.TextResourceContents)
    return contents.text


OVERRIDE = {"description": "Acme's own follow-up", "template": "Acme follow-up for {customer}!"}
OVERRIDE["arguments"] = [{"name": "customer", "required": True}]  # type: ignore[assignment]


async def test_defaults_overrides_additions_and_hiding(
    two_orgs: tuple[RunningGateway, RunningGateway],
) -> None:
    acme, globex = two_orgs
    assert await prompt_names(acme) == ["crm_code_prompt", "crm_follow_up"]
    assert await prompt_text(acme, "crm_follow_up", {"customer": "Bob"}) == "Default follow-up for Bob"

    acme.configure(lambda t: t.set_prompt("acme", "crm_follow_up", OVERRIDE, actor="test"))
    acme.configure(lambda t: t.set_prompt("acme", "acme_only", {"template": "Just for Acme"}, actor="test"))
    acme.configure(lambda t: t.hide_prompt("acme", "crm_code_prompt", actor="test"))

    assert await prompt_names(acme) == ["acme_only", "crm_follow_up"]
    assert await prompt_text(acme, "crm_follow_up", {"customer": "Bob"}) == "Acme follow-up for Bob!"
    assert await prompt_text(acme, "acme_only", {}) == "Just for Acme"
    # The other organization still sees the plugin's defaults, untouched.
    assert await prompt_names(globex) == ["crm_code_prompt", "crm_follow_up"]
    assert await prompt_text(globex, "crm_follow_up", {"customer": "Bob"}) == "Default follow-up for Bob"

    # Deleting the org's rows brings the defaults back.
    acme.configure(lambda t: t.delete_prompt("acme", "crm_follow_up", actor="test"))
    acme.configure(lambda t: t.delete_prompt("acme", "crm_code_prompt", actor="test"))
    assert await prompt_names(acme) == ["acme_only", "crm_code_prompt", "crm_follow_up"]
    assert await prompt_text(acme, "crm_follow_up", {"customer": "Bob"}) == "Default follow-up for Bob"


async def test_resources_override_add_and_hide(two_orgs: tuple[RunningGateway, RunningGateway]) -> None:
    acme, globex = two_orgs
    assert await read_text(acme, "crm://playbook") == "default playbook"
    acme.configure(
        lambda t: t.set_resource("acme", "crm://playbook", {"text": "acme playbook"}, actor="test")
    )
    acme.configure(
        lambda t: t.set_resource(
            "acme", "acme://faq", {"text": "faq", "mime_type": "text/markdown"}, actor="test"
        )
    )
    assert await read_text(acme, "crm://playbook") == "acme playbook"
    assert await read_text(acme, "acme://faq") == "faq"
    assert await read_text(globex, "crm://playbook") == "default playbook"
    with pytest.raises(MCPError, match="Resource not found"):
        await read_text(globex, "acme://faq")
    acme.configure(lambda t: t.hide_resource("acme", "crm://playbook", actor="test"))
    with pytest.raises(MCPError, match="Resource not found"):
        await read_text(acme, "crm://playbook")


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_disabled_server_is_invisible_to_that_org_only(
    two_orgs: tuple[RunningGateway, RunningGateway], era: str
) -> None:
    acme, globex = two_orgs
    acme.configure(lambda t: t.set_service_enabled("acme", "crm", False, actor="test"))
    async with mcp.Client(acme.mcp_url, mode=era, cache=None) as client:
        assert (await client.list_tools()).tools == []
        assert (await client.list_prompts()).prompts == []
        assert (await client.list_resources()).resources == []
        with pytest.raises(MCPError, match="Unknown tool: crm_whoami"):
            await client.call_tool("crm_whoami", {})
        with pytest.raises(MCPError, match="Unknown prompt: crm_follow_up"):
            await client.get_prompt("crm_follow_up", {"customer": "x"})
        with pytest.raises(MCPError, match="Resource not found"):
            await client.read_resource("crm://playbook")
    async with mcp.Client(globex.mcp_url, mode=era, cache=None) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {
            "crm_whoami",
            "crm_remember",
            "crm_notes",
            "crm_purge",
        }
    acme.configure(lambda t: t.set_service_enabled("acme", "crm", True, actor="test"))
    async with mcp.Client(acme.mcp_url, mode=era, cache=None) as client:
        assert len((await client.list_tools()).tools) == 4


async def test_each_org_calls_with_its_own_settings(two_orgs: tuple[RunningGateway, RunningGateway]) -> None:
    acme, globex = two_orgs
    async with mcp.Client(acme.mcp_url, mode="2026-07-28") as client:
        unconfigured = await client.call_tool("crm_whoami", {})
    assert unconfigured.is_error
    assert "crm is not configured" in text_of(unconfigured)
    assert "'api_key': Field required" in text_of(unconfigured)

    acme.configure(lambda t: t.set_service_settings("acme", "crm", {"api_key": "acme-key-A1"}, actor="test"))
    acme.configure(
        lambda t: t.set_service_settings(
            "globex", "crm", {"api_key": "globex-key-G2", "region": "us"}, actor="t"
        )
    )
    async with mcp.Client(acme.mcp_url, mode="2026-07-28") as client:
        acme_result = await client.call_tool("crm_whoami", {})
    async with mcp.Client(globex.mcp_url, mode="legacy") as client:
        globex_result = await client.call_tool("crm_whoami", {})
    assert acme_result.structured_content == {"organization": "acme", "region": "eu", "key_suffix": "A1"}
    assert globex_result.structured_content == {"organization": "globex", "region": "us", "key_suffix": "G2"}


def test_settings_are_validated_and_secrets_encrypted_at_rest(
    two_orgs: tuple[RunningGateway, RunningGateway],
) -> None:
    acme, _globex = two_orgs
    with pytest.raises(ConfigError, match="invalid settings for crm: 'region': Input should be 'eu' or 'us'"):
        acme.configure(
            lambda t: t.set_service_settings("acme", "crm", {"api_key": "k", "region": "mars"}, actor="t")
        )
    with pytest.raises(ConfigError, match="'page_size': Input should be less than or equal to 100"):
        acme.configure(
            lambda t: t.set_service_settings("acme", "crm", {"api_key": "k", "page_size": 500}, actor="t")
        )
    with pytest.raises(
        ConfigError, match="unknown setting 'apikey' for crm; its settings are: api_key, region"
    ):
        acme.configure(lambda t: t.set_service_settings("acme", "crm", {"apikey": "k"}, actor="t"))
    with pytest.raises(ConfigError, match="unknown server 'nope'"):
        acme.configure(lambda t: t.set_service_settings("acme", "nope", {"x": "1"}, actor="t"))

    shown = acme.configure(
        lambda t: t.set_service_settings("acme", "crm", {"api_key": "sk-very-secret-123"}, actor="t")
    )
    assert shown["settings"] == {"api_key": "********"}
    # A partial update keeps the stored secret.
    acme.configure(lambda t: t.set_service_settings("acme", "crm", {"region": "us"}, actor="t"))
    with Session(acme.runtime.engine) as session:
        raw = session.execute(text("SELECT settings FROM organization_services")).scalars().all()
        audit = session.execute(text("SELECT before, after FROM audit_logs")).all()
    stored = [json.loads(value) if isinstance(value, str) else value for value in raw]
    assert "sk-very-secret-123" not in json.dumps(stored)
    assert stored[0]["region"] == "us"
    assert set(stored[0]["api_key"]) == {"$encrypted"}
    assert acme.runtime.secrets.decrypt(stored[0]["api_key"]["$encrypted"]) == "sk-very-secret-123"
    assert "sk-very-secret-123" not in repr(audit)
    assert "$encrypted" not in repr(audit)  # not even the ciphertext reaches the audit log


def test_every_change_writes_its_audit_row(two_orgs: tuple[RunningGateway, RunningGateway]) -> None:
    acme, _globex = two_orgs

    def changes(t: TenancyService) -> None:
        t.add_member("acme", "user_1", "admin", actor="alice")
        t.set_service_enabled("acme", "crm", False, actor="alice")
        t.set_service_settings("acme", "crm", {"api_key": "secret-value"}, actor="alice")
        t.set_prompt("acme", "p", {"template": "x"}, actor="alice")
        t.hide_prompt("acme", "crm_follow_up", actor="alice")
        t.delete_prompt("acme", "p", actor="alice")
        t.set_resource("acme", "r://1", {"text": "r"}, actor="alice")
        t.hide_resource("acme", "crm://playbook", actor="alice")
        t.delete_resource("acme", "r://1", actor="alice")

    acme.configure(changes)
    with pytest.raises(ConfigError):  # a refused change writes nothing
        acme.configure(lambda t: t.set_service_settings("acme", "crm", {"region": "mars"}, actor="alice"))
    with Session(acme.runtime.engine) as session:
        rows = session.exec(
            select(AuditLog).where(AuditLog.actor == "alice").order_by(col(AuditLog.id))
        ).all()
        acme_id = acme.runtime.tenancy.organization_id("acme")
    assert [(r.entity_type, r.entity_id, r.action) for r in rows] == [
        ("membership", "user_1", "create"),
        ("service", "crm", "disable"),
        ("service_settings", "crm", "update"),
        ("prompt", "p", "create"),
        ("prompt", "crm_follow_up", "hide"),
        ("prompt", "p", "delete"),
        ("resource", "r://1", "create"),
        ("resource", "crm://playbook", "hide"),
        ("resource", "r://1", "delete"),
    ]
    assert all(r.organization_id == acme_id for r in rows)
    assert rows[1].before == {"server": "crm", "enabled": True, "settings": {}}
    assert rows[1].after == {"server": "crm", "enabled": False, "settings": {}}
    assert rows[2].after == {"server": "crm", "enabled": False, "settings": {"api_key": "********"}}
    assert rows[5].before is not None and rows[5].after is None


def test_organization_management_errors(omni_settings: Settings) -> None:
    with serve_in_thread(omni_settings) as running:
        with pytest.raises(ConfigError, match="organization 'default' already exists"):
            running.configure(lambda t: t.create_organization("default", actor="t"))
        with pytest.raises(ConfigError, match="invalid organization slug 'Bad Slug'"):
            running.configure(lambda t: t.create_organization("Bad Slug", actor="t"))
        with pytest.raises(ConfigError, match="no organization 'ghost'"):
            running.configure(lambda t: t.set_prompt("ghost", "p", {"template": "x"}, actor="t"))
        with pytest.raises(ConfigError, match="invalid role 'king'"):
            running.configure(lambda t: t.add_member("default", "u", "king", actor="t"))
        with pytest.raises(ConfigError, match=r"undeclared arguments: \['who'\]"):
            running.configure(lambda t: t.set_prompt("default", "p", {"template": "Hi {who}"}, actor="t"))
        with pytest.raises(ConfigError, match="no prompt named 'nothing' to hide"):
            running.configure(lambda t: t.hide_prompt("default", "nothing", actor="t"))
        assert [o["slug"] for o in running.configure(lambda t: t.list_organizations())] == ["default"]


async def test_handshake_clients_hear_that_their_org_lists_changed(
    two_orgs: tuple[RunningGateway, RunningGateway],
) -> None:
    acme, _globex = two_orgs
    received: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification | types.Notification):
            received.append(getattr(message, "method", ""))

    async with mcp.Client(acme.mcp_url, mode="legacy", message_handler=on_message) as client:
        await client.list_prompts()  # the gateway now knows this connection and its organization
        acme.configure(lambda t: t.set_prompt("acme", "fresh", {"template": "new"}, actor="test"))
        for _ in range(50):
            if "notifications/prompts/list_changed" in received:
                break
            import anyio

            await anyio.sleep(0.05)
        names = [p.name for p in (await client.list_prompts()).prompts]
    assert "notifications/prompts/list_changed" in received
    assert "fresh" in names


async def test_plugin_store_is_per_organization(two_orgs: tuple[RunningGateway, RunningGateway]) -> None:
    acme, globex = two_orgs
    async with mcp.Client(acme.mcp_url, mode="2026-07-28") as client:
        await client.call_tool("crm_remember", {"note": "acme secret plan"})
        acme_notes = await client.call_tool("crm_notes", {})
    async with mcp.Client(globex.mcp_url, mode="2026-07-28") as client:
        await client.call_tool("crm_remember", {"note": "globex note"})
        globex_notes = await client.call_tool("crm_notes", {})
    assert acme_notes.structured_content == {"result": ["acme secret plan"]}
    assert globex_notes.structured_content == {"result": ["globex note"]}
