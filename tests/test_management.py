"""Management commands: rename and delete organizations (confirmed, audited), remove members and change
roles, read the change and call audit with filters, and list an organization's effective tools."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import mcp
import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from omni_mcp.audit.query import AuditFilter, AuditReader
from omni_mcp.cli import cli
from omni_mcp.testing import make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

Run = Callable[..., Result]


@pytest.fixture
def run(omni_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    for key in list(os.environ):
        if key.startswith("OMNI_MCP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OMNI_MCP_DATABASE__URL", omni_database_url)
    monkeypatch.setenv("OMNI_MCP_PLUGINS__ALLOW", "[]")
    monkeypatch.setenv("OMNI_MCP_SECURITY__ENCRYPTION_KEYS", json.dumps([Fernet.generate_key().decode()]))

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_rename_keeps_members_keys_and_is_audited(run: Run) -> None:
    ok(run("org", "create", "acme", "--json"))
    ok(run("member", "add", "acme", "user_1", "--role", "admin", "--json"))
    key = ok(run("apikey", "create", "acme", "--role", "member", "--json"))
    renamed = ok(run("org", "rename", "acme", "acme-corp", "--name", "Acme Corp", "--yes", "--json"))
    assert renamed == {
        "id": renamed["id"],
        "slug": "acme-corp",
        "name": "Acme Corp",
        "audit_arguments": False,
    }
    assert ok(run("member", "list", "acme-corp", "--json")) == [
        {"user": "user_1", "role": "admin", "permissions": []}
    ]
    assert [k["id"] for k in ok(run("apikey", "list", "acme-corp", "--json"))] == [key["id"]]
    gone = run("member", "list", "acme")
    assert gone.exit_code == 1 and "no organization 'acme'" in gone.output
    [entry] = ok(run("audit", "changes", "--action", "rename", "--json"))
    assert (entry["organization"], entry["actor"], entry["entity_id"]) == ("acme-corp", "cli", "acme-corp")
    assert (entry["before"]["slug"], entry["after"]["slug"]) == ("acme", "acme-corp")


def test_rename_refuses_a_taken_or_bad_slug(run: Run) -> None:
    ok(run("org", "create", "acme", "--json"))
    ok(run("org", "create", "globex", "--json"))
    taken = run("org", "rename", "acme", "globex", "--yes")
    assert taken.exit_code == 1 and "organization 'globex' already exists" in taken.output
    bad = run("org", "rename", "acme", "Not A Slug", "--yes")
    assert bad.exit_code == 1 and "invalid organization slug 'Not A Slug'" in bad.output


def test_destructive_commands_ask_first(run: Run) -> None:
    ok(run("org", "create", "acme", "--json"))
    declined = run("org", "delete", "acme", input="n\n")
    assert declined.exit_code == 1 and "nothing changed (confirm with --yes)" in declined.output
    assert "acme" in [o["slug"] for o in ok(run("org", "list", "--json"))]
    accepted = run("org", "delete", "acme", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "acme" not in [o["slug"] for o in ok(run("org", "list", "--json"))]


def test_delete_removes_everything_of_the_organization_but_its_change_audit(run: Run, tmp_path: Path) -> None:
    ok(run("org", "create", "acme", "--json"))
    ok(run("org", "create", "globex", "--json"))
    ok(run("member", "add", "acme", "user_1", "--role", "member", "--json"))
    ok(run("member", "add", "globex", "user_1", "--role", "owner", "--json"))
    ok(run("apikey", "create", "acme", "--role", "member", "--json"))
    spec = tmp_path / "p.toml"
    spec.write_text('template = "hello"\n')
    ok(run("prompt", "set", "acme", "greet", "--file", str(spec), "--json"))
    deleted = ok(run("org", "delete", "acme", "--yes", "--json"))
    assert deleted["slug"] == "acme"
    for command in (["member", "list", "acme"], ["apikey", "list", "acme"], ["prompt", "list", "acme"]):
        result = run(*command)
        assert result.exit_code == 1 and "no organization 'acme'" in result.output
    assert ok(run("member", "list", "globex", "--json")) == [
        {"user": "user_1", "role": "owner", "permissions": []}
    ]
    [entry] = ok(run("audit", "changes", "--action", "delete", "--json"))
    assert (entry["organization"], entry["entity_type"], entry["entity_id"]) == (None, "organization", "acme")
    history = ok(run("audit", "changes", "--json", "--limit", "100"))
    assert any(e["entity_type"] == "prompt" and e["entity_id"] == "greet" for e in history)


def test_remove_a_member_and_change_a_role(run: Run) -> None:
    ok(run("org", "create", "acme", "--json"))
    ok(run("member", "add", "acme", "user_1", "--role", "member", "--permission", "x:y", "--json"))
    ok(run("member", "add", "acme", "user_2", "--role", "member", "--json"))
    promoted = ok(run("member", "role", "acme", "user_1", "admin", "--json"))
    assert promoted == {"user": "user_1", "role": "admin", "permissions": ["x:y"]}
    ok(run("member", "remove", "acme", "user_2", "--yes", "--json"))
    assert [m["user"] for m in ok(run("member", "list", "acme", "--json"))] == ["user_1"]
    missing = run("member", "remove", "acme", "nobody", "--yes")
    assert missing.exit_code == 1 and "'nobody' is not a member of organization 'acme'" in missing.output
    bad_role = run("member", "role", "acme", "user_1", "king")
    assert bad_role.exit_code == 2 and "'king' is not one of" in bad_role.output
    actions = [e["action"] for e in ok(run("audit", "changes", "--org", "acme", "--json"))]
    assert actions[:2] == ["delete", "role"]  # newest first


def test_audit_changes_filters(run: Run) -> None:
    ok(run("org", "create", "acme", "--json"))
    ok(run("org", "create", "globex", "--json"))
    ok(run("member", "add", "acme", "u", "--role", "member", "--json"))
    acme = ok(run("audit", "changes", "--org", "acme", "--json"))
    assert {e["organization"] for e in acme} == {"acme"}
    assert [e["action"] for e in ok(run("audit", "changes", "--org", "acme", "--limit", "1", "--json"))] == [
        "create"
    ]
    assert ok(run("audit", "changes", "--actor", "nobody", "--json")) == []
    assert ok(run("audit", "changes", "--since", "1h", "--actor", "cli", "--json"))
    assert ok(run("audit", "changes", "--until", "2000-01-01", "--json")) == []
    text = run("audit", "changes", "--org", "acme")
    assert "membership u" in text.output
    unknown = run("audit", "changes", "--org", "ghost")
    assert unknown.exit_code == 1 and "no organization 'ghost'" in unknown.output
    bad_since = run("audit", "changes", "--since", "yesterday")
    assert bad_since.exit_code == 2 and "neither an ISO date/time" in bad_since.output


def test_audit_calls_of_a_real_server(run: Run, omni_database_url: str) -> None:
    settings = make_test_settings(omni_database_url, audit={"flush_seconds": 0.05})

    async def call(url: str) -> None:
        async with mcp.Client(url, mode="2026-07-28") as client:
            await client.call_tool("demo_echo", {"text": "hi"})
            await client.call_tool("demo_refuse", {})

    with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
        anyio.run(call, running.mcp_url)
        reader = AuditReader(running.runtime.engine)
        while len(reader.calls(AuditFilter())) < 2:  # written in batches, off the response path
            time.sleep(0.02)
    echo = ok(run("audit", "calls", "--org", "default", "--tool", "demo_echo", "--json"))
    assert [(c["name"], c["outcome"], c["kind"]) for c in echo] == [("demo_echo", "ok", "tool")]
    errors = ok(run("audit", "calls", "--outcome", "error", "--json"))
    assert [c["name"] for c in errors] == ["demo_refuse"]
    since = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert ok(run("audit", "calls", "--since", since, "--json")) == []
    text = run("audit", "calls")
    assert text.exit_code == 0 and "demo_echo" in text.output and "ms)" in text.output


def test_tools_list_of_an_organization(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("omni_mcp_linear", reason="needs the Linear plugin: pip install -e plugins/linear")
    monkeypatch.setenv("OMNI_MCP_PLUGINS__ALLOW", '["linear"]')
    ok(run("org", "create", "acme", "--json"))
    tools = ok(run("tools", "list", "--org", "acme", "--json"))
    assert "linear_list_teams" in [t["name"] for t in tools]
    assert {t["plugin"] for t in tools} == {"linear"}
    ok(run("service", "disable", "acme", "linear", "--json"))
    assert ok(run("tools", "list", "--org", "acme", "--json")) == []
    unknown = run("tools", "list", "--org", "ghost")
    assert unknown.exit_code == 1 and "no organization 'ghost'" in unknown.output
