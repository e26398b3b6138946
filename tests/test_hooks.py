"""Every hook is exercised here or elsewhere, documented in the README, and works sync or async."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import omni_mcp
from omni_mcp import Runtime, hookimpl, hookspecs
from omni_mcp.db.models import McpServer
from omni_mcp.testing import serve_in_thread
from tests.test_plugin_discovery import install_fake_distribution

ROOT = Path(__file__).parent.parent
HOOKS = sorted(
    name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "omni_mcp_spec")
)


def test_every_hook_has_a_one_line_docstring_and_types() -> None:
    assert HOOKS == [
        "actor_from_request",
        "health_check",
        "permission_allowed",
        "register_commands",
        "register_prompts",
        "register_resources",
        "register_routes",
        "register_settings",
        "register_tools",
        "shutdown",
        "startup",
    ]
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        assert fn.__doc__ and "\n" not in fn.__doc__.strip(), name
        assert "return" in fn.__annotations__, name


def test_every_hook_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in HOOKS:
        assert f"`{name}`" in readme, name


def test_every_hook_is_exercised_by_a_test() -> None:
    sources = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    sources += (ROOT / "tests" / "sample_plugins.py").read_text()
    for name in HOOKS:
        assert re.search(rf"def {name}\(", sources), f"no test plugin implements {name}"


def test_public_api_is_exactly_all() -> None:
    public = {name for name in dir(omni_mcp) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(omni_mcp, name))}
    assert set(omni_mcp.__all__) == (public - modules) | {"__version__"}


def test_all_is_the_plugin_api_and_the_embedding_api_each_name_once() -> None:
    plugin_api, embedding_api = omni_mcp.PLUGIN_API, omni_mcp.EMBEDDING_API
    assert len(set(plugin_api)) == len(plugin_api) and len(set(embedding_api)) == len(embedding_api)
    assert not set(plugin_api) & set(embedding_api)
    assert sorted(omni_mcp.__all__) == sorted([*plugin_api, *embedding_api])
    for name in omni_mcp.__all__:
        getattr(omni_mcp, name)  # each resolves


class Settings(BaseModel):
    api_key: str


class LifecyclePlugin:
    """Implements the lifecycle hooks, mixing sync and async implementations."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl
    async def startup(self, runtime: Runtime) -> None:
        self.events.append(f"startup:{runtime.version}")

    @hookimpl
    def shutdown(self) -> None:
        self.events.append("shutdown")

    @hookimpl
    def register_settings(self) -> type[BaseModel]:
        return Settings

    @hookimpl
    async def register_routes(self, runtime: Runtime) -> list[Route]:
        async def hello(request: Request) -> PlainTextResponse:
            return PlainTextResponse(f"hello from a plugin route, {len(runtime.capabilities.tools)} tools")

        return [Route("/plugins/lifecycle/hello", hello)]


def test_lifecycle_routes_and_settings_hooks(omni_settings) -> None:  # type: ignore[no-untyped-def]
    plugin = LifecyclePlugin()
    with serve_in_thread(omni_settings, [("lifecycle", plugin)]) as running:
        response = httpx.get(running.base_url + "/plugins/lifecycle/hello")
        assert response.status_code == 200
        assert response.text == "hello from a plugin route, 0 tools"
        runtime = running.app.state.runtime
        assert runtime.capabilities.settings_models == {"lifecycle": Settings}
        assert plugin.events == [f"startup:{omni_mcp.__version__}"]
        with Session(runtime.engine) as session:
            row = session.exec(select(McpServer).where(McpServer.name == "lifecycle")).one()
        assert (row.version, row.health) == ("0", "healthy")
    assert plugin.events[-1] == "shutdown"


@pytest.mark.anyio
async def test_actor_from_request_decides_the_organization(omni_settings) -> None:  # type: ignore[no-untyped-def]
    import mcp

    from tests.sample_plugins import CrmPlugin, HeaderActorPlugin

    plugins = [("header-auth", HeaderActorPlugin()), ("crm", CrmPlugin())]
    with serve_in_thread(omni_settings, plugins) as running:
        running.configure(lambda t: t.create_organization("acme", actor="test"))
        running.configure(lambda t: t.set_prompt("acme", "acme_prompt", {"template": "x"}, actor="test"))

        async def names(headers: dict[str, str]) -> set[str]:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = httpx2.AsyncClient(headers=headers)
            transport = streamable_http_client(running.mcp_url, http_client=http)
            async with http, mcp.Client(transport, mode="2026-07-28", cache=None) as client:
                return {p.name for p in (await client.list_prompts()).prompts}

        assert "acme_prompt" in await names({"x-test-organization": "acme"})
        assert "acme_prompt" not in await names({})  # no header: the local user of the default org


COMMAND_PLUGIN = '''
import click
from omni_mcp import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("name")
    def greet(name):
        """Say hello (added by a plugin)."""
        click.echo("hello " + name)
'''


def test_plugins_add_cli_commands(tmp_path: Path) -> None:
    (tmp_path / "omni_cmd_plugin.py").write_text(COMMAND_PLUGIN)
    install_fake_distribution(tmp_path, "omni-cmd-plugin", "1.0", {"cmd": "omni_cmd_plugin"})
    env = {"PYTHONPATH": str(tmp_path), "OMNI_MCP_PLUGINS__ALLOW": '["cmd"]', "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "omni_mcp", "greet", "world"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello world\n"


class OrderedPlugin:
    """Records when its lifecycle hooks run, in the shared `events` list."""

    def __init__(self, name: str, events: list[str]) -> None:
        self.name = name
        self.events = events

    @hookimpl
    def startup(self) -> None:
        self.events.append(f"startup:{self.name}")

    @hookimpl
    def shutdown(self) -> None:
        self.events.append(f"shutdown:{self.name}")


class TryFirstPlugin(OrderedPlugin):
    @hookimpl(tryfirst=True)
    def startup(self) -> None:
        self.events.append(f"startup:{self.name}")

    @hookimpl(tryfirst=True)
    def shutdown(self) -> None:
        self.events.append(f"shutdown:{self.name}")


class TryLastPlugin(OrderedPlugin):
    @hookimpl(trylast=True)
    def startup(self) -> None:
        self.events.append(f"startup:{self.name}")

    @hookimpl(trylast=True)
    def shutdown(self) -> None:
        self.events.append(f"shutdown:{self.name}")


def test_hooks_run_in_pluggys_order_and_shutdown_in_reverse(omni_settings) -> None:  # type: ignore[no-untyped-def]
    events: list[str] = []
    plugins = [
        ("last", TryLastPlugin("last", events)),
        ("plain-1", OrderedPlugin("plain-1", events)),
        ("plain-2", OrderedPlugin("plain-2", events)),
        ("first", TryFirstPlugin("first", events)),
    ]
    with serve_in_thread(omni_settings, plugins):
        started = list(events)
    # pluggy's own order: tryfirst, then the most recently registered, then trylast.
    assert started == ["startup:first", "startup:plain-2", "startup:plain-1", "startup:last"]
    assert events[len(started) :] == [
        "shutdown:last",
        "shutdown:plain-1",
        "shutdown:plain-2",
        "shutdown:first",
    ]


class OwnerOf:
    """Every request is the owner of `organization`."""

    def __init__(self, organization: str) -> None:
        self.organization = organization

    def _actor(self) -> omni_mcp.Actor:
        return omni_mcp.Actor(id=f"user-{self.organization}", organization=self.organization, role="owner")


class PlainOwnerOf(OwnerOf):
    @hookimpl
    def actor_from_request(self) -> omni_mcp.Actor:
        return self._actor()


class FirstOwnerOf(OwnerOf):
    @hookimpl(tryfirst=True)
    def actor_from_request(self) -> omni_mcp.Actor:
        return self._actor()


@pytest.mark.anyio
async def test_a_tryfirst_actor_from_request_answers_before_the_others(omni_settings) -> None:  # type: ignore[no-untyped-def]
    import mcp

    from tests.sample_plugins import CrmPlugin

    # Registered before the plain one: only tryfirst puts it ahead (pluggy asks the latest registered first).
    plugins = [("first", FirstOwnerOf("acme")), ("plain", PlainOwnerOf("default")), ("crm", CrmPlugin())]
    with serve_in_thread(omni_settings, plugins) as running:
        running.configure(lambda t: t.create_organization("acme", actor="test"))
        running.configure(lambda t: t.set_prompt("acme", "acme_prompt", {"template": "x"}, actor="test"))
        async with mcp.Client(running.mcp_url, mode="2026-07-28", cache=None) as client:
            names = {p.name for p in (await client.list_prompts()).prompts}
    assert "acme_prompt" in names
