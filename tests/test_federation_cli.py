"""The shell side: `upstream add|list|remove`, `client-config CLIENT` and `call TOOL key=value`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from omni_mcp.cli import cli
from omni_mcp.testing import make_test_settings, serve_in_thread
from tests.federation_support import FEDERATION
from tests.federation_upstream import serve_upstream

Invoke = Callable[..., Result]


@pytest.fixture
def run(omni_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    for key in list(os.environ):
        if key.startswith("OMNI_MCP_"):
            monkeypatch.delenv(key)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OMNI_MCP_DATABASE__URL", omni_database_url)
    monkeypatch.setenv("OMNI_MCP_PLUGINS__ALLOW", "[]")
    monkeypatch.setenv("OMNI_MCP_SECURITY__ENCRYPTION_KEYS", json.dumps([key]))
    monkeypatch.setenv("OMNI_MCP_FEDERATION__ALLOW_PRIVATE_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("OMNI_MCP_FEDERATION__STDIO_COMMANDS", json.dumps([sys.executable]))
    monkeypatch.setenv("OMNI_MCP_FEDERATION__ALLOWED_KINDS", '["http", "stdio"]')

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_upstream_commands(run: Invoke) -> None:
    added = run(
        "upstream",
        "add",
        "default",
        "crm",
        "--url",
        "http://127.0.0.1:9/mcp",
        "--header",
        "Authorization: Bearer x1",
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "default: upstream crm (http) http://127.0.0.1:9/mcp"
    stdio = run(
        "upstream", "add", "default", "fs", "--command", sys.executable, "--env", "TOKEN=t0", "--", "-m", "x"
    )
    assert stdio.exit_code == 0, stdio.output
    listed = json.loads(run("upstream", "list", "default", "--json").output)
    assert [(u["name"], u["kind"]) for u in listed] == [("crm", "http"), ("fs", "stdio")]
    assert listed[0]["headers"] == {"Authorization": "********"} and listed[1]["env"] == {"TOKEN": "********"}
    assert "x1" not in run("upstream", "list", "default").output
    assert listed[1]["args"] == ["-m", "x"]
    refused = run("upstream", "add", "default", "evil", "--url", "http://10.0.0.1/mcp")
    assert refused.exit_code == 1 and "allow_private_hosts" in refused.output
    bad_header = run(
        "upstream", "add", "default", "h", "--url", "https://a.example/mcp", "--header", "nocolon"
    )
    assert bad_header.exit_code == 2 and "expected 'Name: value'" in bad_header.output
    assert run("upstream", "remove", "default", "crm").output.strip() == "default: upstream crm removed"
    missing = run("upstream", "remove", "default", "crm")
    assert missing.exit_code == 1 and "no upstream named 'crm'" in missing.output


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("claude-code", {"mcpServers": {"omni": {"type": "http", "url": "http://127.0.0.1:37373/mcp"}}}),
        ("cursor", {"mcpServers": {"omni": {"url": "http://127.0.0.1:37373/mcp"}}}),
        ("vscode", {"servers": {"omni": {"type": "http", "url": "http://127.0.0.1:37373/mcp"}}}),
        ("windsurf", {"mcpServers": {"omni": {"serverUrl": "http://127.0.0.1:37373/mcp"}}}),
        ("http", {"url": "http://127.0.0.1:37373/mcp", "transport": "streamable-http"}),
        (
            "claude-desktop",
            {
                "mcpServers": {
                    "omni": {"command": "npx", "args": ["-y", "mcp-remote", "http://127.0.0.1:37373/mcp"]}
                }
            },
        ),
    ],
)
def test_client_config_shapes(run: Invoke, client: str, expected: dict[str, object]) -> None:
    result = CliRunner().invoke(cli, ["client-config", client], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == expected


def test_client_config_with_a_key_that_works(run: Invoke, omni_database_url: str) -> None:
    run("org", "create", "acme")
    result = CliRunner().invoke(
        cli, ["client-config", "vscode", "--org", "acme", "--key"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    server = json.loads(result.stdout)["servers"]["omni"]
    key = server["headers"]["Authorization"].removeprefix("Bearer ")
    assert key.startswith("omk_")
    desktop = json.loads(run("client-config", "claude-desktop", "--key").stdout)["mcpServers"]["omni"]
    assert desktop["args"][-2:] == ["--header", "Authorization:${OMNI_MCP_AUTHORIZATION}"]
    assert desktop["env"]["OMNI_MCP_AUTHORIZATION"].startswith("Bearer omk_")
    needs_key = run("client-config", "cursor", "--org", "acme")
    assert needs_key.exit_code == 2 and "add --key" in needs_key.output
    settings = make_test_settings(
        omni_database_url,
        security={"encryption_keys": json.loads(os.environ["OMNI_MCP_SECURITY__ENCRYPTION_KEYS"])},
    )
    with serve_in_thread(settings) as gateway:
        called = run("call", "no_such_tool", "--url", gateway.mcp_url, "--api-key", key)
    assert called.exit_code == 1 and "Unknown tool: no_such_tool" in called.output  # the key was accepted


def test_call_a_federated_tool_from_the_shell(run: Invoke, omni_database_url: str) -> None:
    keys = json.loads(os.environ["OMNI_MCP_SECURITY__ENCRYPTION_KEYS"])
    settings = make_test_settings(
        omni_database_url, security={"encryption_keys": keys}, federation=FEDERATION
    )
    with serve_upstream("sh") as upstream, serve_in_thread(settings) as gateway:
        assert run("upstream", "add", "default", "sh", "--url", upstream.url).exit_code == 0
        url = gateway.mcp_url
        echoed = run("call", "sh_echo", "text=hello", "--url", url)
        assert echoed.exit_code == 0, echoed.output
        assert echoed.output.strip() == "sh:hello"
        as_json = json.loads(
            run("call", "sh_echo", 'text="42"', "--url", url, "--json", "--era", "legacy").output
        )
        assert as_json["content"][0]["text"] == "sh:42"
        invalid = run("call", "sh_echo", "text=3", "--url", url)  # 3 is JSON: an integer, not a string
        assert invalid.exit_code == 1 and "is not of type 'string'" in invalid.output
        malformed = run("call", "sh_echo", "text", "--url", url)
        assert malformed.exit_code == 2 and "expected KEY=VALUE" in malformed.output
    unreachable = run("call", "sh_echo", "text=x", "--url", url)
    assert unreachable.exit_code == 1 and f"cannot call sh_echo at {url}" in unreachable.output
