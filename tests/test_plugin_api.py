"""The plugin API as an author meets it, through a real server and the official client in both eras:
prompts and resources declared from a function's signature, typed settings, the store, and the test
helper that sets an organization's plugin settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import mcp
import pytest
from mcp import MCPError
from pydantic import BaseModel, Field, SecretStr

from omni_mcp import (
    CallContext,
    Prompt,
    Resource,
    ResourceTemplate,
    ToolGroup,
    hookimpl,
    prompt,
    resource,
    resource_template,
)
from omni_mcp.testing import RunningGateway

ERAS = ["legacy", "2026-07-28"]


class WeatherSettings(BaseModel):
    api_key: SecretStr
    units: str = "metric"


class WeatherPlugin:
    @hookimpl
    def register_settings(self) -> type[BaseModel]:
        return WeatherSettings

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("weather")

        @group.tool
        async def units(ctx: CallContext) -> str:
            """The units this organization asked for."""
            return ctx.settings_as(WeatherSettings).units

        @group.tool
        async def remember(city: str, ctx: CallContext) -> str:
            """Keep a city for this organization."""
            await ctx.store.put("cities", city, {"city": city})
            return "kept"

        return group

    @hookimpl
    def register_prompts(self) -> list[Prompt]:
        @prompt(title="Forecast")
        def forecast(ctx: CallContext, city: Annotated[str, "Where"], days: str = "3") -> str:
            """Ask for a forecast."""
            return f"Forecast for {city}, {days} days"

        return [forecast]

    @hookimpl
    def register_resources(self) -> list[Resource | ResourceTemplate]:
        @resource("weather://about", mime_type="text/markdown")
        def about() -> str:
            """What this plugin does."""
            return "# Weather"

        @resource_template("weather://cities/{city}")
        async def city(city: Annotated[str, Field(description="A kept city")], ctx: CallContext) -> str:
            """A city this organization kept."""
            kept = await ctx.store.get("cities", city)
            return f"{city}: {'kept' if kept else 'not kept'}"

        return [about, city]


@pytest.fixture
def gateway(serve_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    return serve_gateway(plugins=[("weather", WeatherPlugin())])


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_prompt_arguments_come_from_the_signature(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}["forecast"]
        rendered = await client.get_prompt("forecast", {"city": "Oslo"})
        with pytest.raises(MCPError, match="missing required argument 'city'"):
            await client.get_prompt("forecast", {})
    assert listed.title == "Forecast" and listed.description == "Ask for a forecast."
    arguments = [(a.name, a.required, a.description) for a in listed.arguments or []]
    assert arguments == [("city", True, "Where"), ("days", False, None)]
    assert rendered.messages[0].content.text == "Forecast for Oslo, 3 days"  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_resources_declared_from_functions_read_with_the_store(
    gateway: RunningGateway, era: str
) -> None:
    gateway.set_plugin_settings("default", "weather", {"api_key": "k-1"})
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        templates = (await client.list_resource_templates()).resource_templates
        about = await client.read_resource("weather://about")
        await client.call_tool("weather_remember", {"city": "Oslo"})
        kept = await client.read_resource("weather://cities/Oslo")
        other = await client.read_resource("weather://cities/Rome")
    assert [(t.uri_template, t.description) for t in templates] == [
        ("weather://cities/{city}", "A city this organization kept.")
    ]
    assert about.contents[0].text == "# Weather"  # type: ignore[union-attr]
    assert about.contents[0].mime_type == "text/markdown"
    assert kept.contents[0].text == "Oslo: kept"  # type: ignore[union-attr]
    assert other.contents[0].text == "Rome: not kept"  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_settings_as_gives_typed_settings_or_says_what_is_missing(
    gateway: RunningGateway, era: str
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        missing = await client.call_tool("weather_units", {})
        gateway.set_plugin_settings("default", "weather", {"api_key": "k-1", "units": "imperial"})
        configured = await client.call_tool("weather_units", {})
    assert missing.is_error
    text: Any = missing.content[0]
    assert "weather settings of organization 'default' are not usable" in text.text
    assert "api_key" in text.text
    assert not configured.is_error
    assert configured.content[0].text == "imperial"  # type: ignore[union-attr]


def test_set_plugin_settings_refuses_unknown_settings(gateway: RunningGateway) -> None:
    from omni_mcp.tenancy.service import ConfigError

    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        gateway.set_plugin_settings("acme", "weather", {"colour": "blue"})


def test_a_resource_template_must_take_exactly_its_variables() -> None:
    with pytest.raises(TypeError, match=r"takes \['town'\], the template's variables are \['city'\]"):

        @resource_template("weather://cities/{city}")
        def wrong(town: str) -> str:
            return town


def test_a_fixed_resource_takes_no_arguments() -> None:
    with pytest.raises(TypeError, match="may take only a CallContext"):

        @resource("weather://about")
        def wrong(city: str) -> str:
            return city
