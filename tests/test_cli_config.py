"""The configuration commands: documented shapes, --json output, one-line errors and non-zero exits."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from omni_mcp.cli import cli

try:  # the conformance fixture is the installed third-party server these commands configure
    importlib.metadata.distribution("omni-mcp-conformance-fixture")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("needs the fixture plugin: pip install -e tests/conformance_plugin", allow_module_level=True)


@pytest.fixture
def run(omni_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import os

    for key in list(os.environ):
        if key.startswith("OMNI_MCP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OMNI_MCP_DATABASE__URL", omni_database_url)
    monkeypatch.setenv("OMNI_MCP_PLUGINS__ALLOW", '["conformance"]')
    monkeypatch.setenv("OMNI_MCP_SECURITY__ENCRYPTION_KEYS", json.dumps([Fernet.generate_key().decode()]))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_organization_commands(run) -> None:  # type: ignore[no-untyped-def]
    created = run("org", "create", "acme", "--name", "Acme Inc", "--json")
    assert created.exit_code == 0, created.output
    shown = json.loads(created.output)
    assert isinstance(shown.pop("id"), int)
    assert shown == {
        "slug": "acme",
        "name": "Acme Inc",
        "audit_arguments": False,
    }
    again = run("org", "create", "acme")
    assert again.exit_code == 1
    assert again.output.strip() == "Error: organization 'acme' already exists"
    bad = run("org", "create", "Not A Slug")
    assert bad.exit_code == 1
    assert "invalid organization slug" in bad.output
    listed = run("org", "list", "--json")
    # The default organization exists from the first command on.
    assert [o["slug"] for o in json.loads(listed.output)] == ["acme", "default"]
    assert run("org", "list").output.split() == ["acme", "Acme", "Inc", "default", "default"]


def test_member_and_service_commands(run) -> None:  # type: ignore[no-untyped-def]
    assert run("org", "create", "acme").exit_code == 0
    member = run("member", "add", "acme", "user_2abc", "--role", "admin", "--json")
    assert json.loads(member.output) == {"user": "user_2abc", "role": "admin", "permissions": []}
    wrong_role = run("member", "add", "acme", "user_2abc", "--role", "emperor")
    assert wrong_role.exit_code == 2 and "Invalid value for '--role'" in wrong_role.output
    assert json.loads(run("member", "list", "acme", "--json").output)[0]["role"] == "admin"

    disabled = run("service", "disable", "acme", "conformance", "--json")
    assert json.loads(disabled.output) == {"server": "conformance", "enabled": False, "settings": {}}
    services = json.loads(run("service", "list", "acme", "--json").output)
    assert services == [{"server": "conformance", "enabled": False, "settings": {}}]
    unknown = run("service", "enable", "acme", "nosuch")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: unknown server 'nosuch'; installed servers: conformance"
    no_settings = run("service", "set", "acme", "conformance", "x=1")
    assert no_settings.exit_code == 1 and "has no settings" in no_settings.output
    malformed = run("service", "set", "acme", "conformance", "novalue")
    assert malformed.exit_code == 1 and "expected KEY=VALUE" in malformed.output
    ghost = run("service", "list", "ghost")
    assert ghost.exit_code == 1 and "no organization 'ghost'" in ghost.output


def test_prompt_and_resource_commands(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("org", "create", "acme").exit_code == 0
    toml_file = tmp_path / "triage.toml"
    toml_file.write_text(
        'description = "Triage an issue"\ntemplate = "Triage {issue} now"\n'
        '[[arguments]]\nname = "issue"\ndescription = "Issue id"\nrequired = true\n'
    )
    created = run("prompt", "set", "acme", "triage", "--file", str(toml_file), "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["template"] == "Triage {issue} now"
    json_file = tmp_path / "override.json"
    json_file.write_text(json.dumps({"template": "Our own simple prompt", "description": "ours"}))
    assert run("prompt", "set", "acme", "test_simple_prompt", "--file", str(json_file)).exit_code == 0
    assert run("prompt", "hide", "acme", "test_prompt_with_image").exit_code == 0
    listed = {row["name"]: row for row in json.loads(run("prompt", "list", "acme", "--json").output)}
    assert listed["triage"]["source"] == "organization"
    assert listed["test_simple_prompt"]["source"] == "override"
    assert listed["test_simple_prompt"]["server"] == "conformance"
    assert listed["test_prompt_with_image"]["source"] == "hidden"
    assert listed["test_prompt_with_arguments"]["source"] == "default"

    broken = tmp_path / "broken.toml"
    broken.write_text("template = ")
    result = run("prompt", "set", "acme", "x", "--file", str(broken))
    assert result.exit_code == 1 and "is not valid TOML" in result.output
    missing = run("prompt", "set", "acme", "x", "--file", str(tmp_path / "absent.json"))
    assert missing.exit_code == 1 and "cannot read" in missing.output
    undeclared = tmp_path / "undeclared.json"
    undeclared.write_text(json.dumps({"template": "Hi {name}"}))
    result = run("prompt", "set", "acme", "x", "--file", str(undeclared))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: prompt 'x' template uses undeclared arguments: ['name']"
    assert run("prompt", "delete", "acme", "triage").exit_code == 0
    assert run("prompt", "delete", "acme", "triage").exit_code == 1

    resource_file = tmp_path / "faq.toml"
    resource_file.write_text('name = "faq"\nmime_type = "text/markdown"\ntext = "# FAQ"\n')
    assert run("resource", "set", "acme", "acme://faq", "--file", str(resource_file)).exit_code == 0
    assert run("resource", "hide", "acme", "test://static-text").exit_code == 0
    resources = {row["uri"]: row for row in json.loads(run("resource", "list", "acme", "--json").output)}
    assert resources["acme://faq"]["source"] == "organization"
    assert resources["test://static-text"]["source"] == "hidden"
    no_text = tmp_path / "notext.json"
    no_text.write_text("{}")
    result = run("resource", "set", "acme", "acme://x", "--file", str(no_text))
    assert result.exit_code == 1 and "a resource needs 'text'" in result.output


def test_secrets_rotate_reencrypts_with_the_new_key(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    from omni_mcp.tenancy.plugin_settings import ENCRYPTED

    old_key = json.loads(__import__("os").environ["OMNI_MCP_SECURITY__ENCRYPTION_KEYS"])[0]
    assert run("db", "upgrade").exit_code == 0
    url = (
        __import__("os")
        .environ["OMNI_MCP_DATABASE__URL"]
        .replace("postgresql://", "postgresql+psycopg://", 1)
    )
    engine = create_engine(url)
    # A plugin with a secret setting is not installed here: store one through the same encoding path.
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organizations (slug, name, created_at) VALUES ('o', 'o', CURRENT_TIMESTAMP)")
        )
        server_id = connection.execute(
            text("SELECT id FROM mcp_servers WHERE name = 'conformance'")
        ).scalar_one()
        token = Fernet(old_key.encode()).encrypt(b"the-secret").decode()
        connection.execute(
            text(
                "INSERT INTO organization_services "
                "(organization_id, server_id, enabled, settings, updated_at) "
                "VALUES (1, :server, true, :settings, CURRENT_TIMESTAMP)"
            ),
            {"server": server_id, "settings": json.dumps({"api_key": {ENCRYPTED: token}, "region": "eu"})},
        )
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("OMNI_MCP_SECURITY__ENCRYPTION_KEYS", json.dumps([new_key, old_key]))
    rotated = run("secrets", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.output) == {"rotated": 1}
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT settings FROM organization_services")).scalar_one()
        audit = (
            connection.execute(text("SELECT action FROM audit_logs WHERE action <> 'create'")).scalars().all()
        )
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert Fernet(new_key.encode()).decrypt(stored["api_key"][ENCRYPTED].encode()) == b"the-secret"
    assert stored["region"] == "eu"
    assert audit == ["rotate_key"]
    engine.dispose()
