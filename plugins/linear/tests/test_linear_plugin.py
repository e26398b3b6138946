"""The plugin inside a real in-process gateway: discovery through the entry point, what an organization
without a key is told, OAuth tokens, the operator's base_url, and prompts/templates that organizations
can override."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import mcp
import mcp.types as types
import pytest
from fake_linear import ALICE_KEY, ALICE_OAUTH, FakeLinear
from mcp.shared.exceptions import MCPError
from omni_mcp_linear import plugin

from omni_mcp.tenancy.service import ConfigError
from omni_mcp.testing import RunningGateway, make_test_settings

pytestmark = pytest.mark.anyio
MODERN = "2026-07-28"


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


def configure(gateway: RunningGateway, organization: str, values: dict[str, Any]) -> None:
    gateway.app.state.runtime.tenancy.set_service_settings(organization, "linear", values, actor="test")


@pytest.fixture
def gateway(serve_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    return serve_gateway(plugins=[("linear", plugin)])


def test_entry_point_names_the_plugin_module() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="omni_mcp") if e.name == "linear"]
    assert entry.value == "omni_mcp_linear.plugin"
    assert entry.load() is plugin
    assert entry.dist is not None and entry.dist.name == "omni-mcp-linear"


@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_an_organization_without_a_key_is_told_what_to_set(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        result = await client.call_tool("linear_list_teams", {})
        with pytest.raises(MCPError, match="no API key is set"):
            await client.read_resource("linear://teams/ENG")
    assert result.is_error
    assert text_of(result).startswith(
        "Linear is not configured for organization 'default': no API key is set."
    )
    assert "omni-mcp service set default linear api_key=<Linear personal API key>" in text_of(result)


async def test_an_organization_cannot_point_the_plugin_at_another_host(gateway: RunningGateway) -> None:
    with pytest.raises(ConfigError, match="setting 'base_url' of linear is the operator's"):
        configure(gateway, "default", {"api_key": ALICE_KEY, "base_url": "https://attacker.example/graphql"})
    configure(gateway, "default", {"api_key": ALICE_KEY})  # what is the organization's own still is


async def test_default_team_alone_is_not_a_key(gateway: RunningGateway) -> None:
    configure(gateway, "default", {"default_team": "ENG"})
    async with mcp.Client(gateway.mcp_url, mode=MODERN) as client:
        result = await client.call_tool("linear_create_issue", {"title": "x"})
    assert result.is_error and "no API key is set" in text_of(result)


async def test_oauth_token_is_sent_as_bearer(
    serve_gateway: Callable[..., RunningGateway], omni_database_url: str, fake_linear: FakeLinear
) -> None:
    operator = {"settings": {"linear": {"base_url": fake_linear.url}}}
    gateway = serve_gateway(
        plugins=[("linear", plugin)], settings=make_test_settings(omni_database_url, plugins=operator)
    )
    configure(gateway, "default", {"oauth_token": ALICE_OAUTH})
    async with mcp.Client(gateway.mcp_url, mode=MODERN) as client:
        result = await client.call_tool("linear_get_viewer", {})
    assert not result.is_error, text_of(result)
    assert text_of(result).startswith("Alice Anders <alice@acme.test>")
    assert fake_linear.authorizations() == {f"Bearer {ALICE_OAUTH}"}


async def test_organizations_override_default_prompts_and_templates(gateway: RunningGateway) -> None:
    tenancy = gateway.app.state.runtime.tenancy
    tenancy.set_prompt(
        "default",
        "linear_issue_triage",
        {"description": "Our triage", "template": "Triage {team} our way.", "arguments": [{"name": "team"}]},
        actor="test",
    )
    tenancy.set_resource(
        "default",
        "linear://templates/bug-report",
        {"text": "# Our bug template", "name": "bug"},
        actor="test",
    )
    async with mcp.Client(gateway.mcp_url, mode=MODERN) as client:
        triage = await client.get_prompt("linear_issue_triage", {"team": "ENG"})
        bug = await client.read_resource("linear://templates/bug-report")
        planning = await client.get_prompt("linear_sprint_planning", {"team": "ENG"})
    assert triage.messages[0].content.text == "Triage ENG our way."  # type: ignore[union-attr]
    assert bug.contents[0].text == "# Our bug template"  # type: ignore[union-attr]
    assert planning.messages[0].content.text.startswith("Plan the next cycle")  # type: ignore[union-attr]


async def test_default_prompts_leave_no_blank_for_a_missing_optional_argument(
    gateway: RunningGateway,
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=MODERN) as client:
        listed = (await client.list_prompts()).prompts
        rendered = {
            prompt.name: await client.get_prompt(
                prompt.name, {a.name: "ENG-1" for a in prompt.arguments or [] if a.required}
            )
            for prompt in listed
        }
    texts = {name: result.messages[0].content.text for name, result in rendered.items()}  # type: ignore[union-attr]
    assert "Fetch at most 25 issues," in texts["linear_issue_triage"]
    assert "Extra guidance from me: none" in texts["linear_issue_triage"]
    assert "The cycle to plan: the next upcoming one." in texts["linear_sprint_planning"]
    assert "Decide the next step for the issue: start work on it." in texts["linear_workflow"]
    for name, text in texts.items():  # no "at most  issues", no "Capacity:  estimate points"
        assert "  " not in text.replace("\n   ", "\n").replace("\n  ", "\n"), name
