"""Entry-point discovery with real distribution metadata on sys.path, allow/block lists, broken plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import anyio
import pytest

from omni_mcp.gateway.capabilities import collect_capabilities
from omni_mcp.plugins import get_plugin_manager
from omni_mcp.settings import PluginSettings

GOOD_PLUGIN = """
from omni_mcp import ToolGroup, hookimpl

group = ToolGroup("{namespace}")

@group.tool
def hello(name: str) -> str:
    '''Say hello.'''
    return "hello " + name

@hookimpl
def register_tools():
    return group

@hookimpl
async def health_check():
    return True
"""


def install_fake_distribution(site: Path, dist: str, version: str, entry_points: dict[str, str]) -> None:
    """Write a real *.dist-info with entry_points.txt, exactly what pip would leave behind."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[omni_mcp]\n{lines}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "omni_test_good.py").write_text(GOOD_PLUGIN.format(namespace="good"))
    (tmp_path / "omni_test_other.py").write_text(GOOD_PLUGIN.format(namespace="other"))
    (tmp_path / "omni_test_broken.py").write_text("import does_not_exist_anywhere\n")
    (tmp_path / "omni_test_badhook.py").write_text(
        textwrap.dedent(
            """
            from omni_mcp import hookimpl

            @hookimpl
            def register_tool():  # a typo: no such hook
                return None
            """
        )
    )
    install_fake_distribution(tmp_path, "omni-test-good", "1.2.3", {"good": "omni_test_good"})
    install_fake_distribution(tmp_path, "omni-test-other", "0.9", {"other": "omni_test_other"})
    install_fake_distribution(tmp_path, "omni-test-broken", "0.1", {"broken": "omni_test_broken"})
    install_fake_distribution(tmp_path, "omni-test-badhook", "0.1", {"badhook": "omni_test_badhook"})
    return tmp_path


def test_entry_point_plugins_are_discovered_with_their_distribution(site: Path) -> None:
    host = get_plugin_manager(PluginSettings(allow=["good", "other"]))
    assert host.info["good"].version == "1.2.3"
    assert host.info["good"].distribution == "omni-test-good"
    assert host.info["good"].source == "entry point"
    collected = anyio.run(collect_capabilities, host)
    assert collected.capabilities.tools["good_hello"].plugin == "good"
    assert collected.capabilities.tools["other_hello"].plugin == "other"


def test_allow_list_and_block_list(site: Path) -> None:
    only_good = get_plugin_manager(PluginSettings(allow=["good"]))
    assert "good" in only_good.info and "other" not in only_good.info
    blocked = get_plugin_manager(PluginSettings(allow=["good", "other"], block=["other"]))
    assert "good" in blocked.info and "other" not in blocked.info


def test_a_plugin_that_fails_to_import_is_reported_not_fatal(site: Path) -> None:
    host = get_plugin_manager(PluginSettings(allow=["good", "broken"]))
    assert "good" in host.names()
    assert host.load_errors["broken"].startswith("could not be loaded: ModuleNotFoundError")


def test_a_plugin_implementing_an_unknown_hook_is_dropped_and_reported(site: Path) -> None:
    host = get_plugin_manager(PluginSettings(allow=["good", "badhook"]))
    assert "register_tool" in host.load_errors["badhook"]
    assert host.manager.get_plugin("badhook") is None
    assert host.manager.get_plugin("good") is not None


def test_the_manager_is_built_fresh_each_time(site: Path) -> None:
    first = get_plugin_manager(PluginSettings(allow=["good"]))
    second = get_plugin_manager(PluginSettings(allow=[]))
    assert first.manager is not second.manager
    assert "good" not in second.info
