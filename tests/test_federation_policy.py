"""The operator's policy for upstreams, the names federated tools get, and secrets at rest."""

from __future__ import annotations

import re
import sys

import pytest
from sqlmodel import Session, select

from omni_mcp.federation.models import Upstream
from omni_mcp.federation.naming import check_upstream_name, namespaced
from omni_mcp.federation.policy import PolicyError, UpstreamPolicy
from omni_mcp.settings import Settings
from omni_mcp.tenancy.service import ConfigError
from tests.federation_support import federating_gateway, in_server


def policy(**federation: object) -> UpstreamPolicy:
    return UpstreamPolicy.from_settings(Settings.model_validate({"federation": federation}))


def test_names_fit_64_characters_with_a_stable_hash() -> None:
    assert namespaced("gh", "create_issue") == "gh_create_issue"
    long_name = "a_really_long_tool_name_that_some_server_thought_was_a_good_idea_v2"
    shortened = namespaced("github", long_name)
    assert len(shortened) == 64 and shortened.startswith("github_a_really_long")
    assert shortened == namespaced("github", long_name)  # deterministic
    assert shortened != namespaced("github", long_name + "x")  # same prefix, different names
    odd = namespaced("fs", "read file!")
    assert re.fullmatch(r"fs_read_file__[0-9a-f]{8}", odd)
    with pytest.raises(ValueError, match="lowercase"):
        check_upstream_name("Bad_Name")


def test_loopback_and_private_hosts_are_refused_unless_allowed() -> None:
    strict = policy()
    for url in ("http://127.0.0.1:9/mcp", "http://localhost/mcp", "http://10.1.2.3/mcp", "http://[::1]/mcp"):
        with pytest.raises(PolicyError, match="allow_private_hosts"):
            strict.check_url(url)
    with pytest.raises(PolicyError, match="allow_private_hosts"):
        strict.check_resolved("http://localhost:9/mcp")  # checked again on the resolved address
    with pytest.raises(PolicyError, match="credentials"):
        strict.check_url("https://user:pw@example.com/mcp")
    with pytest.raises(PolicyError, match="http"):
        strict.check_url("file:///etc/passwd")
    strict.check_url("https://mcp.example.com/mcp")
    relaxed = policy(allow_private_hosts=["10.0.0.0/8", "localhost"])
    relaxed.check_url("http://10.1.2.3/mcp")
    relaxed.check_url("http://localhost/mcp")
    with pytest.raises(PolicyError):
        relaxed.check_url("http://192.168.1.1/mcp")


def test_stdio_is_off_on_a_shared_deployment_and_listed_commands_only() -> None:
    shared = UpstreamPolicy.from_settings(Settings.model_validate({"server": {"host": "0.0.0.0"}}))
    with pytest.raises(PolicyError, match="stdio upstreams are not allowed"):
        shared.check_command("npx")
    local = policy()  # local mode (loopback, no allow-list): any command
    local.check_command("npx")
    listed = policy(allowed_kinds=["http", "stdio"], stdio_commands=["npx", "/usr/bin/uvx"])
    listed.check_command("/usr/local/bin/npx")  # by name
    with pytest.raises(PolicyError, match="not in federation.stdio_commands"):
        listed.check_command("bash")


def test_refused_upstreams_are_config_errors_and_secrets_are_encrypted() -> None:
    with federating_gateway(
        federation={"allow_private_hosts": [], "stdio_commands": [sys.executable]}
    ) as gateway:
        service = gateway.runtime.federation.upstreams
        with pytest.raises(ConfigError, match="allow_private_hosts"):
            service.add("default", "loop", url="http://127.0.0.1:1/mcp", actor="t")
        with pytest.raises(ConfigError, match="stdio_commands"):
            service.add("default", "sh", command="bash", actor="t")
        with pytest.raises(ConfigError, match="exactly one"):
            service.add("default", "both", url="https://a.example/mcp", command="x", actor="t")
        view = in_server(
            gateway,
            lambda: service.add(
                "default",
                "remote",
                url="https://a.example/mcp",
                headers={"Authorization": "Bearer s3cr3t"},
                actor="t",
            ),
        )
        assert view["headers"] == {"Authorization": "********"}
        with pytest.raises(ConfigError, match="already has an upstream"):
            service.add("default", "remote", url="https://b.example/mcp", actor="t")
        with Session(gateway.runtime.engine) as session:
            stored = session.exec(select(Upstream)).one()
        assert "s3cr3t" not in repr(stored.headers)
        assert service.list_upstreams("default")[0]["name"] == "remote"
