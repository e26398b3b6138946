"""Prompt names, resource URIs and template sizes are checked wherever they are created (plugins'
defaults and organizations' writes), and a template prompt cannot render more than the limit."""

from __future__ import annotations

from collections.abc import Iterator

import mcp
import mcp.types as types
import pytest
from mcp.shared.exceptions import MCPError

from omni_mcp import Prompt, PromptArgument, Resource, ResourceTemplate, hookimpl
from omni_mcp.settings import Settings
from omni_mcp.tenancy.service import ConfigError
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

pytestmark = pytest.mark.anyio

MAX_RENDERED = 100_000


@pytest.fixture
def gateway(omni_database_url: str) -> Iterator[RunningGateway]:
    settings: Settings = make_test_settings(omni_database_url, templates={"max_rendered_chars": MAX_RENDERED})
    with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
        yield running


@pytest.mark.parametrize("name", ["../../x", "a\nb", "tab\there", "with space", "a/b", ".hidden", "x" * 129])
def test_an_organization_cannot_write_a_bad_prompt_name(gateway: RunningGateway, name: str) -> None:
    with pytest.raises(ConfigError, match="invalid prompt name"):
        gateway.configure(lambda t: t.set_prompt("default", name, {"template": "hi"}, actor="t"))
    with pytest.raises(ConfigError, match="invalid prompt name"):
        gateway.configure(lambda t: t.hide_prompt("default", name, actor="t"))


@pytest.mark.parametrize(
    "uri", ["not a uri", "/relative/path", "notes://a b", "notes://x\ny", "notes://%zz", ""]
)
def test_an_organization_cannot_write_a_bad_resource_uri(gateway: RunningGateway, uri: str) -> None:
    with pytest.raises(ConfigError, match="must be an absolute URI"):
        gateway.configure(lambda t: t.set_resource("default", uri, {"text": "x"}, actor="t"))
    with pytest.raises(ConfigError, match="must be an absolute URI"):
        gateway.configure(lambda t: t.hide_resource("default", uri, actor="t"))


def test_good_names_and_uris_are_still_written(gateway: RunningGateway) -> None:
    gateway.configure(
        lambda t: t.set_prompt("default", "team.weekly-report_2", {"template": "hi"}, actor="t")
    )
    gateway.configure(
        lambda t: t.set_resource("default", "notes://team/hand%20book?v=2", {"text": "x"}, actor="t")
    )
    prompt = gateway.configure(lambda t: t.own_prompt("default", "team.weekly-report_2"))
    resource = gateway.configure(lambda t: t.own_resource("default", "notes://team/hand%20book?v=2"))
    assert prompt is not None and prompt["template"] == "hi"
    assert resource is not None and resource["text"] == "x"


def test_an_oversized_template_is_refused_by_default(omni_settings: Settings) -> None:
    """The default limit (templates.max_template_chars = 100,000) refuses a 1 MB template."""
    with serve_in_thread(omni_settings) as running:
        spec = {"template": "{a}" * 350_000, "arguments": [{"name": "a"}]}
        with pytest.raises(
            ConfigError, match=r"more than the limit of 100000 \(templates.max_template_chars\)"
        ):
            running.configure(lambda t: t.set_prompt("default", "huge", spec, actor="t"))


async def test_rendering_past_the_limit_is_a_clear_error(gateway: RunningGateway, era: str) -> None:
    spec = {"template": "{text}" * 1000, "arguments": [{"name": "text", "required": True}]}
    gateway.configure(lambda t: t.set_prompt("default", "repeat", spec, actor="t"))
    async with mcp.Client(gateway.mcp_url, mode=era, cache=None) as client:
        small = await client.get_prompt("repeat", {"text": "ab"})
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("repeat", {"text": "x" * 1024})
        after = await client.get_prompt("repeat", {"text": "c"})
    assert isinstance(small.messages[0].content, types.TextContent)
    assert small.messages[0].content.text == "ab" * 1000
    assert refused.value.code == types.INVALID_PARAMS
    assert refused.value.message == (
        f"Prompt 'repeat': it would render 1024000 characters, more than the limit of {MAX_RENDERED} "
        "(templates.max_rendered_chars)"
    )
    assert isinstance(after.messages[0].content, types.TextContent)
    assert after.messages[0].content.text == "c" * 1000


class BadDefaultsPlugin:
    """Each instance contributes one bad default: a prompt name, a resource URI or a huge template."""

    def __init__(self, bad: str) -> None:
        self.bad = bad

    @hookimpl
    def register_prompts(self) -> list[Prompt]:
        if self.bad == "name":
            return [Prompt("../../etc", template="hi")]
        if self.bad == "template":
            return [Prompt("bad_big", arguments=(PromptArgument("a"),), template="{a}" * 40_000)]
        return []

    @hookimpl
    def register_resources(self) -> list[Resource | ResourceTemplate]:
        if self.bad == "uri":
            return [Resource("not a uri", "bad", text="x")]
        if self.bad == "uri-template":
            return [ResourceTemplate("no scheme/{id}", "bad", read=lambda id: id)]
        return []


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("name", "register_prompts failed: invalid prompt name '../../etc'"),
        ("template", "register_prompts failed: prompt 'bad_big': its template is 120000 characters"),
        ("uri", "register_resources failed: invalid resource URI 'not a uri'"),
        ("uri-template", "register_resources failed: invalid resource URI template 'no scheme/{id}'"),
    ],
)
async def test_a_plugin_with_a_bad_default_is_withheld_and_the_others_serve(
    omni_settings: Settings, bad: str, reason: str
) -> None:
    with serve_in_thread(omni_settings, [("bad", BadDefaultsPlugin(bad)), ("demo", EchoPlugin())]) as running:
        state = running.runtime.states["bad"]
        async with mcp.Client(running.mcp_url, mode="2026-07-28") as client:
            prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert state.withheld
    assert state.health.detail.startswith(reason)
    assert "demo_greet" in prompts
