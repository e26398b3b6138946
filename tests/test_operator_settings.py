"""Operator values of plugins' settings (`[plugins.settings.<plugin>]`), and fields only the operator sets.

An organization's admin configures its own plugin settings, but must not be able to send the gateway (and
the organization's credentials) to a host of their choosing: a plugin marks such a field operator-only,
and the operator may fix any other field for every organization.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp
import pytest
from loguru import logger
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import text
from sqlmodel import Session

from omni_mcp import CallContext, ToolError, ToolGroup, hookimpl
from omni_mcp.db.engine import create_db_engine
from omni_mcp.plugins import get_plugin_manager
from omni_mcp.runtime import Runtime
from omni_mcp.settings import Settings
from omni_mcp.tenancy.plugin_settings import OperatorSettingsInvalid
from omni_mcp.tenancy.service import ConfigError
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

DEFAULT_URL = "https://upstream.example/api"


class UpstreamSettings(BaseModel):
    api_key: SecretStr
    base_url: str = Field(DEFAULT_URL, json_schema_extra={"operator_only": True})
    region: str = "eu"
    page_size: int = Field(20, ge=1, le=100)


class UpstreamPlugin:
    @hookimpl
    def register_settings(self) -> type[BaseModel]:
        return UpstreamSettings

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("upstream")

        @group.tool
        async def target(ctx: CallContext) -> dict[str, Any]:
            """Where this organization's calls would go, and with which of its settings."""
            if not isinstance(ctx.settings, UpstreamSettings):
                raise ToolError(f"not configured: {ctx.settings_error}")
            return {"base_url": ctx.settings.base_url, "region": ctx.settings.region}

        return group


def with_operator(database_url: str, values: dict[str, Any]) -> Settings:
    return make_test_settings(database_url, plugins={"settings": {"upstream": values}})


async def target_of(gateway: RunningGateway) -> dict[str, Any]:
    async with mcp.Client(gateway.mcp_url, mode="2026-07-28") as client:
        result = await client.call_tool("upstream_target", {})
    assert not result.is_error, result
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def set_own(gateway: RunningGateway, org: str, values: dict[str, Any]) -> dict[str, Any]:
    return gateway.configure(lambda t: t.set_service_settings(org, "upstream", values, actor="admin"))


@pytest.mark.anyio
async def test_operator_values_apply_to_every_organization_which_cannot_change_them(
    omni_database_url: str,
) -> None:
    operator = {"base_url": "https://mirror.internal/api", "region": "us"}
    plugins = [("upstream", UpstreamPlugin())]
    with serve_in_thread(with_operator(omni_database_url, operator), plugins) as gateway:
        gateway.configure(lambda t: t.create_organization("acme", actor="test"))
        for org in ("default", "acme"):
            shown = set_own(gateway, org, {"api_key": f"key-of-{org}", "page_size": 50})
            assert shown["settings"] == {"api_key": "********", "page_size": 50}  # the org's own only
            for field in ("region", "base_url"):
                with pytest.raises(ConfigError, match=f"setting '{field}' of upstream is the operator's"):
                    set_own(gateway, org, {field: "elsewhere"})
        assert await target_of(gateway) == operator


@pytest.mark.anyio
async def test_an_operator_only_field_keeps_its_default_when_the_operator_sets_none(
    omni_database_url: str,
) -> None:
    settings = make_test_settings(omni_database_url)
    with serve_in_thread(settings, [("upstream", UpstreamPlugin())]) as gateway:
        with pytest.raises(ConfigError, match=r"under \[plugins.settings.upstream\] in the configuration"):
            set_own(gateway, "default", {"api_key": "k", "base_url": "http://169.254.169.254/latest"})
        set_own(gateway, "default", {"api_key": "k", "region": "ap"})
        assert await target_of(gateway) == {"base_url": DEFAULT_URL, "region": "ap"}

        # A value stored before the field became the operator's (or written around the service) is ignored.
        with Session(gateway.runtime.engine) as session:
            stored = session.execute(text("SELECT settings FROM organization_services")).scalar_one()
            row = json.loads(stored) if isinstance(stored, str) else stored
            row["base_url"] = "http://169.254.169.254/latest"
            session.execute(text("UPDATE organization_services SET settings = :s"), {"s": json.dumps(row)})
            session.commit()
        gateway.runtime.org_configs.invalidate(None)
        assert (await target_of(gateway))["base_url"] == DEFAULT_URL
        # ... and dropped at the organization's next change.
        set_own(gateway, "default", {"region": "eu"})
        with Session(gateway.runtime.engine) as session:
            stored = session.execute(text("SELECT settings FROM organization_services")).scalar_one()
        assert "base_url" not in (json.loads(stored) if isinstance(stored, str) else stored)
    gateway.runtime.engine.dispose()  # the server disposed it; the reads above opened new connections


@pytest.mark.parametrize(
    ("operator", "message"),
    [
        ({"upstream": {"base_ur1": "https://x"}}, "upstream has no setting 'base_ur1'"),
        ({"upstream": {"page_size": 1000}}, "upstream.page_size: Input should be less than or equal to 100"),
        ({"upstream": {"region": ["eu"]}}, "upstream.region: Input should be a valid string"),
        ({"echo": {"anything": 1}}, "plugin echo has no settings"),
    ],
)
def test_operator_settings_that_cannot_apply_stop_start_up(
    omni_database_url: str, operator: dict[str, Any], message: str
) -> None:
    settings = make_test_settings(omni_database_url, plugins={"settings": operator})
    host = get_plugin_manager(
        settings.plugins, extra_plugins=[("upstream", UpstreamPlugin()), ("echo", EchoPlugin())]
    )
    runtime = Runtime(settings, host, create_db_engine(settings.database))
    try:
        with pytest.raises(OperatorSettingsInvalid, match=message):
            anyio.run(runtime.prepare)
    finally:
        runtime.engine.dispose()


def test_settings_for_a_plugin_not_loaded_are_ignored(omni_database_url: str) -> None:
    settings = make_test_settings(omni_database_url, plugins={"settings": {"absent": {"x": 1}}})
    runtime = Runtime(settings, get_plugin_manager(settings.plugins), create_db_engine(settings.database))
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(str(message)), level="WARNING", format="{message}")
    try:
        collected = anyio.run(runtime.prepare)  # a plugin blocked or not installed here: no reason to refuse
    finally:
        logger.remove(sink)
        runtime.engine.dispose()
    assert "absent" not in collected.capabilities.settings_models
    assert warnings == ["[plugins.settings.absent]: no such plugin is loaded; ignored\n"]
