"""Local mode: on by default on loopback only, never silently hiding a bad credential; the 401 challenge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from omni_mcp.app import create_app
from omni_mcp.auth.mode import LocalModeNotOnLoopback, local_mode_enabled
from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.errors import StartupError
from omni_mcp.settings import Settings
from omni_mcp.testing import TEST_ENCRYPTION_KEY, free_port, make_test_settings, serve_in_thread
from tests.auth_probe import ProbePlugin
from tests.sample_plugins import HeaderActorPlugin

UNASSIGNED = "192.0.2.1"  # TEST-NET-1: not loopback, and no interface of this machine has it


@pytest.mark.parametrize(
    ("host", "configured", "expected"),
    [
        ("127.0.0.1", None, True),
        ("localhost", None, True),
        ("::1", None, True),
        ("0.0.0.0", None, False),
        ("10.1.2.3", None, False),
        ("127.0.0.1", False, False),
        ("127.0.0.1", True, True),
        ("0.0.0.0", False, False),
    ],
)
def test_local_mode_follows_the_interface(host: str, configured: bool | None, expected: bool) -> None:
    settings = Settings.model_validate({"server": {"host": host}, "auth": {"local_mode": configured}})
    assert local_mode_enabled(settings) is expected


def test_local_mode_on_another_interface_stops_start_up(omni_database_url: str) -> None:
    settings = make_test_settings(omni_database_url, server={"host": UNASSIGNED}, auth={"local_mode": True})
    with pytest.raises(LocalModeNotOnLoopback) as caught:
        create_app(settings)
    assert isinstance(caught.value, StartupError)
    assert "\n" not in str(caught.value) and "needs a loopback host" in str(caught.value)


def clean_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    env.update(OMNI_MCP_DATABASE__URL=database_url, OMNI_MCP_PLUGINS__ALLOW="[]")
    # A key of the test's own: a server started here never creates or reads the user's key file (and
    # on a machine without one, the "generated a new key" warning would come before the line asserted).
    env["OMNI_MCP_SECURITY__ENCRYPTION_KEYS"] = json.dumps([TEST_ENCRYPTION_KEY])
    return env


def test_serve_local_on_another_interface_exits_with_one_line(omni_database_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "omni_mcp",
            "serve",
            "--host",
            UNASSIGNED,  # were the check missing, binding would fail rather than expose anything
            "--local",
            "--port",
            str(free_port()),
        ],
        env=clean_env(omni_database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: auth.local_mode lets anyone call without credentials")
    assert "Traceback" not in result.stderr


def test_fresh_serve_is_local_and_says_how_to_make_a_key(omni_database_url: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
        env=clean_env(omni_database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # No credentials: the local user (the README's first command must just work for a local client).
        probe = httpx.post(
            base + "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28"},
        )
        assert probe.status_code != 401
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    hints = [line for line in output.splitlines() if "no API keys yet" in line]
    assert len(hints) == 1, output
    assert hints[0].endswith(
        "no API keys yet; clients on this machine need none (local mode); "
        "to create one: omni-mcp apikey create default --role admin"
    )


def test_in_local_mode_credentials_are_still_verified(omni_database_url: str) -> None:
    with serve_in_thread(make_test_settings(omni_database_url), [("probe", ProbePlugin())]) as gateway:
        url = gateway.base_url + "/probe/whoami"
        assert httpx.get(url).json()["kind"] == "local"
        bad = httpx.get(url, headers={"authorization": "Bearer omk_aaaaaaaa_" + "A" * 43})
        assert bad.status_code == 401  # never silently the local user
        assert httpx.get(url, headers={"x-api-key": "nonsense"}).status_code == 401
        assert httpx.get(url, headers={"authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
        key = api_key_service(gateway.runtime).create("default", role="member", actor="test").key
        seen = httpx.get(url, headers={"x-api-key": key}).json()
        assert (seen["kind"], seen["role"]) == ("api_key", "member")  # the key's Actor, not the local owner


def settings_without_local_mode(database_url: str, **auth: Any) -> Settings:
    return make_test_settings(database_url, auth={"local_mode": False, **auth})


def test_the_challenge_and_metadata_without_a_configured_resource(omni_database_url: str) -> None:
    with serve_in_thread(settings_without_local_mode(omni_database_url)) as gateway:
        response = httpx.post(gateway.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert response.status_code == 401
        metadata = f"{gateway.base_url}/.well-known/oauth-protected-resource/mcp"
        assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}"'
        assert response.json()["error"]["message"] == "Authentication required"
        document = httpx.get(metadata).json()
        assert document == {
            "resource": gateway.mcp_url,
            "bearer_methods_supported": ["header"],
            "resource_name": "omni-mcp",
        }
        assert httpx.get(gateway.base_url + "/health").status_code == 200
        other = httpx.get(gateway.base_url + "/anything")
        assert other.status_code == 401 and other.json() == {"error": "Authentication required"}


def test_public_paths_and_other_actor_plugins(omni_database_url: str) -> None:
    settings = settings_without_local_mode(omni_database_url, public_paths=["/probe"])
    plugins = [("probe", ProbePlugin()), ("header-auth", HeaderActorPlugin())]
    with serve_in_thread(settings, plugins) as gateway:
        url = gateway.base_url + "/probe/whoami"
        assert httpx.get(url).json() == {
            "headers": ["accept", "accept-encoding", "connection", "host", "user-agent"]
        }
        # A plugin may still resolve callers its own way; the core's verifiers do not get in its way.
        assert httpx.get(url, headers={"x-test-organization": "acme"}).json()["organization"] == "acme"
        refused = httpx.post(gateway.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401


def test_plugin_websockets_are_authenticated_too(omni_database_url: str) -> None:
    from starlette.routing import WebSocketRoute
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocket, WebSocketDisconnect

    from omni_mcp import hookimpl
    from omni_mcp.auth.actor_scope import actor_in

    class SocketPlugin:
        @hookimpl
        def register_routes(self) -> list[WebSocketRoute]:
            async def talk(websocket: WebSocket) -> None:
                await websocket.accept()
                actor = actor_in(websocket.scope)
                await websocket.send_text(actor.organization if actor else "nobody")
                await websocket.close()

            return [WebSocketRoute("/socket", talk)]

    app = create_app(
        settings_without_local_mode(omni_database_url), extra_plugins=[("socket", SocketPlugin())]
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/socket"):
            pass
        assert refused.value.code == 1008
        key = api_key_service(app.state.runtime).create("default", role="member", actor="test").key
        with client.websocket_connect("/socket", headers={"x-api-key": key}) as socket:
            assert socket.receive_text() == "default"
