"""Collecting what plugins contribute: names, schemas, clashes and broken contributions."""

from __future__ import annotations

import anyio
import pytest

from omni_mcp import Prompt, Resource, ToolGroup, hookimpl
from omni_mcp.capabilities.signatures import ArgumentsError
from omni_mcp.gateway.capabilities import CapabilityClash, Collected, collect_capabilities
from omni_mcp.plugins import get_plugin_manager
from tests.sample_plugins import EchoPlugin


def collect(*plugins: tuple[str, object]) -> Collected:
    host = get_plugin_manager(load_entry_points=False, extra_plugins=plugins)
    return anyio.run(collect_capabilities, host)


def test_tools_are_namespaced_and_owned_by_their_plugin() -> None:
    collected = collect(("one", EchoPlugin("alpha")), ("two", EchoPlugin("beta")))
    assert collected.capabilities.tools["alpha_echo"].plugin == "one"
    assert collected.capabilities.tools["beta_echo"].plugin == "two"
    assert collected.capabilities.prompts["beta_greet"].plugin == "two"
    assert "alpha://items/{id}" in collected.capabilities.templates
    assert collected.failed == {}


def test_a_tool_clash_names_both_plugins() -> None:
    with pytest.raises(CapabilityClash) as caught:
        collect(("first-plugin", EchoPlugin("same")), ("second-plugin", EchoPlugin("same")))
    message = str(caught.value)
    assert "tool 'same_echo'" in message
    assert "'first-plugin'" in message and "'second-plugin'" in message


def test_a_resource_clash_names_both_plugins() -> None:
    class Readme:
        @hookimpl
        def register_resources(self) -> list[Resource]:
            return [Resource("shared://readme", "readme", text="x")]

    with pytest.raises(CapabilityClash, match=r"resource 'shared://readme' is registered by both plugin 'a'"):
        collect(("a", Readme()), ("b", Readme()))


def test_a_prompt_clash_names_both_plugins() -> None:
    class Prompts:
        @hookimpl
        def register_prompts(self) -> list[Prompt]:
            return [Prompt("p_x", "x", template="x")]

    with pytest.raises(CapabilityClash, match="prompt 'p_x' is registered by both plugin 'a' and plugin 'b'"):
        collect(("a", Prompts()), ("b", Prompts()))


def test_a_plugin_whose_register_hook_raises_is_marked_failed_and_others_still_register() -> None:
    class Broken:
        @hookimpl
        def register_tools(self) -> ToolGroup:
            raise ImportError("missing optional dependency")

    collected = collect(("broken", Broken()), ("fine", EchoPlugin()))
    assert collected.failed == {"broken": "register_tools failed: ImportError: missing optional dependency"}
    assert "demo_echo" in collected.capabilities.tools


def test_a_plugin_returning_the_wrong_type_is_marked_failed() -> None:
    class Confused:
        @hookimpl
        def register_tools(self) -> object:
            return {"not": "a group"}

    collected = collect(("confused", Confused()))
    assert "expected ToolGroup" in collected.failed["confused"]


def test_tool_names_longer_than_64_characters_are_refused() -> None:
    group = ToolGroup("namespace")
    with pytest.raises(ValueError, match="longer than 64 characters"):

        @group.tool(name="x" * 60)
        async def long() -> str:
            return ""


@pytest.mark.parametrize("bad", ["Upper", "has space", "9starts-with-digit", "under_score", ""])
def test_namespaces_are_lowercase_identifiers(bad: str) -> None:
    with pytest.raises(ValueError, match="tool namespace"):
        ToolGroup(bad)


def test_duplicate_tool_in_one_group_is_refused() -> None:
    group = ToolGroup("dup")

    @group.tool
    async def same() -> str:
        return ""

    with pytest.raises(ValueError, match="defined twice"):
        group.add(same)


def test_verbatim_json_schema_is_kept_and_enforced() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "contact": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
        },
        "if": {"properties": {"contact": {"const": "phone"}}, "required": ["contact"]},
        "then": {"required": ["phone"]},
        "additionalProperties": False,
    }
    group = ToolGroup("raw")

    @group.tool(input_schema=schema)
    async def contact(**arguments: str) -> str:
        return str(arguments)

    tool = group.tools[0]
    assert tool.to_mcp().input_schema == schema
    assert tool.signature.validate({"contact": "email"}) == {"contact": "email"}
    with pytest.raises(ArgumentsError, match="'phone' is a required property"):
        tool.signature.validate({"contact": "phone"})
    with pytest.raises(ArgumentsError, match="argument 'contact'"):
        tool.signature.validate({"contact": "fax"})


def test_an_invalid_verbatim_schema_is_refused_at_registration() -> None:
    group = ToolGroup("raw")
    with pytest.raises(Exception, match="is not valid"):
        group.add(lambda: "", name="bad", input_schema={"type": "no-such-type"})


def test_prompt_templates_may_only_use_declared_arguments() -> None:
    with pytest.raises(ValueError, match=r"undeclared arguments: \['who'\]"):
        Prompt("p", "d", template="Hi {who}")
    with pytest.raises(ValueError, match="exactly one of template= or render="):
        Prompt("p", "d")
