"""The README's promises: its plugin example works as printed, its commands exist."""

from __future__ import annotations

import re
import types as pytypes
from pathlib import Path

import mcp
import mcp.types as types
import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_the_plugin_example_runs_as_printed(serve_gateway, era: str) -> None:  # type: ignore[no-untyped-def]
    source = next(block for block in python_blocks() if "weather = ToolGroup" in block)
    module = pytypes.ModuleType("weather_plugin")
    exec(compile(source, "README.md", "exec"), module.__dict__)
    running = serve_gateway(plugins=[("weather", module)])
    async with mcp.Client(running.mcp_url, mode=era) as client:
        result = await client.call_tool("weather_forecast", {"city": "Lisbon", "days": 2})
        refused = await client.call_tool("weather_forecast", {"city": "Atlantis"})
        invalid = await client.call_tool("weather_forecast", {"city": "Lisbon", "days": 9})
        prompt = await client.get_prompt("weather_trip", {"city": "Porto"})
        units = await client.read_resource("weather://units")
    assert result.structured_content == {"city": "Lisbon", "days": 2}
    assert refused.is_error and refused.content[0].text == "no weather data for Atlantis"  # type: ignore[union-attr]
    assert invalid.is_error and "argument 'days'" in invalid.content[0].text  # type: ignore[union-attr]
    first = prompt.messages[0].content
    assert isinstance(first, types.TextContent)
    assert first.text == "Plan three days in Porto; check weather_forecast first."
    assert units.contents[0].text == "Temperatures are in Celsius."  # type: ignore[union-attr]


def test_documented_commands_exist() -> None:
    from click.testing import CliRunner

    from omni_mcp.cli import cli

    for command in (
        ["serve"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["plugins", "list"],
        ["tools", "list"],
        ["upstream", "add"],
        ["upstream", "list"],
        ["upstream", "remove"],
        ["client-config"],
        ["call"],
    ):
        result = CliRunner().invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
