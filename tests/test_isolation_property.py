"""Property: whatever several organizations write, no read for one returns another's data."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine
from sqlmodel import select

from omni_mcp.config.effective import load_org_config
from omni_mcp.db import migrate
from omni_mcp.db.scoping import CrossOrganizationWrite, org_session
from omni_mcp.plugins import get_plugin_manager
from omni_mcp.runtime import Runtime
from omni_mcp.storage.store import PluginStore
from omni_mcp.tenancy.models import OrganizationService
from omni_mcp.testing import fresh_database_url, make_test_settings
from tests.sample_plugins import CrmPlugin

ORGS = ["org-a", "org-b", "org-c"]

# One write by one organization; every value embeds its writer, so a leak is visible in any read.
writes = st.tuples(
    st.sampled_from(ORGS),
    st.sampled_from(["prompt", "resource", "settings", "hide", "store"]),
    st.text(alphabet="abcdefghij", min_size=1, max_size=6),
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with fresh_database_url() as url:
        settings = make_test_settings(url)
        engine: Engine = create_engine(
            settings.database.resolved_url().replace("postgresql://", "postgresql+psycopg://")
        )
        migrate.upgrade(engine)
        rt = Runtime(
            settings, get_plugin_manager(settings.plugins, extra_plugins=[("crm", CrmPlugin())]), engine
        )
        anyio.run(rt.prepare)
        rt.sync_defaults()
        for slug in ORGS:
            rt.tenancy.create_organization(slug, actor="test")
        yield rt
        engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(writes, min_size=1, max_size=12))
def test_no_read_for_one_org_returns_another_orgs_data(
    runtime: Runtime, operations: list[tuple[str, str, str]]
) -> None:
    tenancy = runtime.tenancy
    for org, kind, word in operations:
        marker = f"{org}-{word}"
        if kind == "prompt":
            tenancy.set_prompt(org, f"p_{marker}", {"template": f"written by {org}"}, actor=org)
        elif kind == "resource":
            tenancy.set_resource(org, f"mem://{marker}", {"text": f"written by {org}"}, actor=org)
        elif kind == "settings":
            tenancy.set_service_settings(org, "crm", {"api_key": f"key-of-{org}"}, actor=org)
        elif kind == "hide":
            tenancy.hide_prompt(org, "crm_follow_up", actor=org)
        else:
            org_id = tenancy.organization_id(org)
            anyio.run(PluginStore(runtime.engine, org_id, "crm").put, "notes", marker, {"by": org})

    for org in ORGS:
        config = load_org_config(
            runtime.engine, org, runtime.capabilities, runtime.secrets, enabled_by_default=True
        )
        others = [other for other in ORGS if other != org]
        for name, owned in config.prompts.items():
            assert not any(name.startswith(f"p_{other}-") for other in others)
            if owned.plugin is None:  # the org's own
                assert owned.item.template == f"written by {org}"
        for uri, owned in config.resources.items():
            assert not any(uri.startswith(f"mem://{other}-") for other in others)
            if owned.plugin is None:
                assert owned.item.text == f"written by {org}"
        crm = config.settings.get("crm")
        if crm is not None:
            assert crm.api_key.get_secret_value() == f"key-of-{org}"  # type: ignore[attr-defined]
        notes = anyio.run(PluginStore(runtime.engine, config.organization_id, "crm").recent, "notes", 1000)
        assert all(value["by"] == org for _key, value in notes)
        # The scoped session itself: even an unfiltered query sees only this org's service rows.
        with org_session(runtime.engine, config.organization_id) as session:
            rows = session.exec(select(OrganizationService)).all()
        assert all(row.organization_id == config.organization_id for row in rows)


def test_a_scoped_session_refuses_to_write_another_orgs_row(runtime: Runtime) -> None:
    a, b = (runtime.tenancy.organization_id(slug) for slug in ORGS[:2])
    runtime.tenancy.set_service_enabled(ORGS[1], "crm", True, actor="test")
    with org_session(runtime.engine, b) as session:
        row = session.exec(select(OrganizationService)).first()
    assert row is not None
    with org_session(runtime.engine, a) as session:
        assert session.get(OrganizationService, row.id) is None  # not even by primary key
        row.enabled = False
        session.add(row)
        with pytest.raises(CrossOrganizationWrite):
            session.commit()
