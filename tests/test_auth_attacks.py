"""Attacks on authentication, against a real server with local mode off and a real local OIDC issuer.

Every forged, stale, misdirected or revoked credential gets 401 with the RFC 9728 challenge; every
legitimate one (RS256 and ES256 tokens, API keys in either header) gets its own Actor, and the
credential itself never reaches a plugin. A valid credential asking for more than it may gets 403
with an `insufficient_scope` challenge; one reaching into another organization finds nothing there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import httpx2
import mcp
import mcp.types as types
import pytest
from mcp.client.streamable_http import streamable_http_client

from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.gateway.visibility import PERMISSION_DENIED
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.auth_probe import ProbePlugin
from tests.oidc_issuer import AUDIENCE, TestIssuer, b64json, b64url, running_issuer

LEGACY_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
METADATA_URL = "https://mcp.test/.well-known/oauth-protected-resource/mcp"


@dataclass
class Setup:
    gateway: RunningGateway
    issuer: TestIssuer
    keys: dict[str, str]


def run_in_server(gateway: RunningGateway, change: Any) -> Any:
    """Run a change in a worker thread of the server's loop, as a request handler would."""
    import asyncio

    import anyio.to_thread

    future = asyncio.run_coroutine_threadsafe(anyio.to_thread.run_sync(change), gateway.app.state.loop)
    return future.result(timeout=30)


# Long enough for the fixture to use the key before it expires, even on a busy machine.
EXPIRES_IN = 5


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    with running_issuer() as issuer, fresh_database_url() as url:
        settings = make_test_settings(
            url,
            auth={
                "local_mode": False,
                "issuers": [issuer.url],
                "resource": AUDIENCE,
                "leeway_seconds": 5,
                "api_key_cache_seconds": 3600,
            },
        )
        with serve_in_thread(settings, [("probe", ProbePlugin())]) as gateway:
            gateway.configure(lambda t: t.create_organization("acme", actor="test"))
            gateway.configure(lambda t: t.create_organization("globex", actor="test"))
            gateway.configure(
                lambda t: t.set_prompt("globex", "globex_plans", {"template": "globex only"}, actor="test")
            )
            service = api_key_service(gateway.runtime)
            keys = {
                "acme": service.create(
                    "acme",
                    role="member",
                    actor="test",
                    permissions=["audit:read"],
                    tools=["probe_whoami", "elsewhere_tool"],
                ).key,
                "globex": service.create("globex", role="admin", actor="test").key,
                "acme-member": service.create("acme", role="member", actor="test").key,
                "acme-admin": service.create("acme", role="admin", actor="test").key,
                "revoked": service.create("acme", role="admin", actor="test").key,
                "expired": service.create(
                    "acme", role="admin", actor="test", expires_in=timedelta(seconds=EXPIRES_IN)
                ).key,
            }
            expires_at = time.monotonic() + EXPIRES_IN
            # Both work, and are cached, before one is revoked (in this process) and the other expires.
            for name in ("revoked", "expired"):
                assert post(gateway, bearer(keys[name])).status_code == 200
            run_in_server(gateway, lambda: service.revoke(keys["revoked"][:12], actor="test"))
            time.sleep(max(0.0, expires_at - time.monotonic()) + 0.1)  # until the key's expiry has passed
            yield Setup(gateway, issuer, keys)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def post(gateway: RunningGateway, headers: dict[str, str]) -> httpx.Response:
    """A handshake-era initialize: 200 once authenticated."""
    return httpx.post(
        gateway.mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "attacker", "version": "1"},
            },
        },
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            **headers,
        },
        timeout=10,
    )


def refused(gateway: RunningGateway, headers: dict[str, str]) -> str:
    """Assert the request got a 401 with the challenge and a JSON-RPC error; return the error description."""
    response = post(gateway, headers)
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer resource_metadata="{METADATA_URL}"')
    body = response.json()
    # The refusal answers the request it refuses: its JSON-RPC id comes back.
    assert body["jsonrpc"] == "2.0" and body["id"] == 1 and body["error"]["code"] == types.INVALID_REQUEST
    assert "Traceback" not in response.text
    if "error=" not in challenge:
        return ""
    assert 'error="invalid_token"' in challenge
    return challenge.split('error_description="', 1)[1].rstrip('"')


def test_no_credential(setup: Setup) -> None:
    assert refused(setup.gateway, {}) == ""


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("malformed, not a JWT", lambda i: "not-a-token", "credential not recognized"),
        ("malformed JWT", lambda i: "eyJhbGciOi.broken.sig", "malformed token"),
        (
            "payload nested deeper than a JSON parser goes",
            lambda i: f"{b64json({'alg': 'RS256', 'kid': 'rsa-1'})}.{b64url(b'[' * 5000 + b']' * 5000)}.c2ln",
            "malformed token",
        ),
        ("alg none", lambda i: i.unsigned_token(), "token algorithm not allowed"),
        (
            "HS256 signed with the public key",
            lambda i: i.hmac_with_public_key(),
            "token algorithm not allowed",
        ),
        ("expired", lambda i: i.token(exp=int(time.time()) - 60), "token expired"),
        ("not yet valid", lambda i: i.token(nbf=int(time.time()) + 120), "token not yet valid"),
        ("issued in the future", lambda i: i.token(iat=int(time.time()) + 120), "token issued in the future"),
        ("no expiry", lambda i: i.token(exp=None), "token has no expiry"),
        ("wrong issuer", lambda i: i.token(iss="https://evil.example"), "token issuer not trusted"),
        (
            "wrong audience",
            lambda i: i.token(aud="https://other.example/mcp"),
            "token audience is not this resource",
        ),
        ("no audience", lambda i: i.token(aud=None), "token audience is not this resource"),
        ("unknown kid", lambda i: i.token(key="stranger"), "token signing key unknown"),
        ("tampered payload", lambda i: i.tampered(org_id="globex"), "token signature invalid"),
        (
            "EC signature under the RSA key's kid",
            lambda i: i.token(key="ec", header={"kid": "rsa-1"}),
            "token signature invalid",
        ),
        ("no subject", lambda i: i.token(sub=None), "token has no subject"),
    ],
)
def test_bad_tokens_are_refused(setup: Setup, name: str, make: Any, reason: str) -> None:
    assert refused(setup.gateway, bearer(make(setup.issuer))) == reason, name


@pytest.mark.parametrize(
    ("name", "headers", "reason"),
    [
        ("revoked key", lambda k: bearer(k["revoked"]), "API key revoked"),
        ("expired key", lambda k: bearer(k["expired"]), "API key expired"),
        ("revoked key as X-API-Key", lambda k: {"x-api-key": k["revoked"]}, "API key revoked"),
        ("wrong secret for a real key id", lambda k: bearer(k["acme"][:-4] + "AAAA"), "unknown API key"),
        ("malformed key", lambda k: {"x-api-key": "omk_nope"}, "malformed API key"),
        ("a token in X-API-Key", lambda k: {"x-api-key": "eyJ.a.b"}, "malformed API key"),
        (
            "two different credentials",
            lambda k: {**bearer(k["acme"]), "x-api-key": k["globex"]},
            "two different credentials",
        ),
        ("unknown scheme", lambda k: {"authorization": "Basic dXNlcjpwYXNz"}, "credential not recognized"),
        ("empty bearer", lambda k: {"authorization": "Bearer"}, "empty bearer token"),
    ],
)
def test_bad_keys_are_refused(setup: Setup, name: str, headers: Any, reason: str) -> None:
    assert refused(setup.gateway, headers(setup.keys)) == reason, name


def test_a_valid_token_for_an_unknown_organization_is_forbidden(setup: Setup) -> None:
    response = post(setup.gateway, bearer(setup.issuer.token(org_id="nowhere")))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "organization not known here"


async def call_whoami(gateway: RunningGateway, headers: dict[str, str], era: str) -> dict[str, Any]:
    http = httpx2.AsyncClient(headers=headers)
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode=era, cache=None) as client:
        result = await client.call_tool("probe_whoami", {})
    assert not result.is_error, result
    assert isinstance(result.structured_content, dict)
    return result.structured_content


USER_ALICE = {
    "id": "user_alice",
    "organization": "acme",
    "role": "admin",
    "permissions": ["audit:read"],
    "kind": "user",
    "allowed_tools": None,
}


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("key", ["rsa", "ec"])
async def test_rs256_and_es256_tokens_are_accepted(setup: Setup, key: str, era: str) -> None:
    seen = await call_whoami(setup.gateway, bearer(setup.issuer.token(key=key)), era)
    assert {k: v for k, v in seen.items() if k != "headers"} == USER_ALICE
    assert "authorization" not in seen["headers"]


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
async def test_api_keys_are_accepted_in_both_headers(setup: Setup, header: str, era: str) -> None:
    key = setup.keys["acme"]
    headers = bearer(key) if header == "authorization" else {"x-api-key": key}
    seen = await call_whoami(setup.gateway, headers, era)
    assert seen["organization"] == "acme"
    assert seen["role"] == "member"
    assert seen["permissions"] == ["audit:read"]
    assert seen["kind"] == "api_key"
    assert seen["id"] == f"apikey:{key[:12]}"
    assert seen["allowed_tools"] == ["elsewhere_tool", "probe_whoami"]
    # The tool (and whatever it calls upstream) never sees the caller's credential.
    assert "authorization" not in seen["headers"] and "x-api-key" not in seen["headers"]


def test_a_key_of_one_organization_is_an_actor_of_that_organization_only(setup: Setup) -> None:
    for org in ("acme", "globex"):
        response = httpx.get(setup.gateway.base_url + "/probe/whoami", headers=bearer(setup.keys[org]))
        assert response.status_code == 200
        assert response.json()["organization"] == org
        assert "authorization" not in response.json()["headers"]
    assert httpx.get(setup.gateway.base_url + "/probe/whoami").status_code == 401  # plugin routes too


def test_public_endpoints_need_no_credential(setup: Setup) -> None:
    base = setup.gateway.base_url
    assert httpx.get(base + "/health").status_code == 200
    for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
        response = httpx.get(base + path)
        assert response.status_code == 200
        assert response.json() == {
            "resource": AUDIENCE,
            "authorization_servers": [setup.issuer.url],
            "bearer_methods_supported": ["header"],
            "resource_name": "omni-mcp",
        }


def test_a_session_only_serves_the_caller_who_opened_it(setup: Setup) -> None:
    opened = post(setup.gateway, bearer(setup.keys["acme"]))
    assert opened.status_code == 200
    session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}

    def send(credential: dict[str, str]) -> httpx.Response:
        headers = {**LEGACY_HEADERS, **session, **credential}
        return httpx.post(setup.gateway.mcp_url, json=initialized, headers=headers, timeout=10)

    for stranger in (bearer(setup.keys["globex"]), bearer(setup.issuer.token())):
        hijack = send(stranger)
        assert hijack.status_code == 404
        assert hijack.json()["error"]["message"] == "Session not found"
    assert send({"x-api-key": setup.keys["acme"]}).status_code == 202  # the owner, in either header
    assert send({}).status_code == 401


def call(
    gateway: RunningGateway, headers: dict[str, str], method: str, params: dict[str, Any]
) -> httpx.Response:
    """One stateless 2026-07-28 request with a credential, as plain HTTP."""
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "attacker", "version": "1"},
    }
    name = params.get("name")
    return httpx.post(
        gateway.mcp_url,
        json={"jsonrpc": "2.0", "id": 41, "method": method, "params": {**params, "_meta": envelope}},
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": method,
            **({"mcp-name": name} if isinstance(name, str) else {}),
            **headers,
        },
        timeout=10,
    )


def forbidden(response: httpx.Response) -> str:
    """Assert a 403 with the insufficient_scope challenge for request 41; return the error message."""
    assert response.status_code == 403, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert f'resource_metadata="{METADATA_URL}"' in challenge
    body = response.json()
    assert body["id"] == 41 and body["error"]["code"] == PERMISSION_DENIED
    assert "Traceback" not in response.text
    message: str = body["error"]["message"]
    return message


def result_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    text: str = (
        result["content"][0]["text"] if "content" in result else result["messages"][0]["content"]["text"]
    )
    return text


def test_a_member_key_calling_an_admin_only_tool_is_forbidden(setup: Setup) -> None:
    refused = call(setup.gateway, bearer(setup.keys["acme-member"]), "tools/call", {"name": "probe_reset"})
    assert forbidden(refused) == (
        "Permission denied: api_key with role 'member' may not call tool 'probe_reset' "
        "(needs services:manage)"
    )
    assert 'scope="services:manage"' in refused.headers["www-authenticate"]
    allowed = call(setup.gateway, bearer(setup.keys["acme-admin"]), "tools/call", {"name": "probe_reset"})
    assert result_text(allowed) == "reset done"


def test_a_member_token_calling_an_admin_only_tool_is_forbidden(setup: Setup) -> None:
    member = setup.issuer.token(org_role="org:member")
    refused = call(setup.gateway, bearer(member), "tools/call", {"name": "probe_reset"})
    assert "user with role 'member' may not call tool 'probe_reset'" in forbidden(refused)
    admin = setup.issuer.token(org_role="org:admin")
    assert (
        result_text(call(setup.gateway, bearer(admin), "tools/call", {"name": "probe_reset"})) == "reset done"
    )


def test_a_tool_outside_the_keys_allow_list_is_forbidden(setup: Setup) -> None:
    key = bearer(setup.keys["acme"])  # may use probe_whoami and elsewhere_tool only
    for name in ("probe_reset", "no_such_tool"):  # whether the tool exists or not: nothing is confirmed
        assert forbidden(call(setup.gateway, key, "tools/call", {"name": name})) == (
            f"Permission denied: this API key may not call tool '{name}' (not in its allow-list)"
        )
    listed = call(setup.gateway, key, "tools/list", {})
    assert [tool["name"] for tool in listed.json()["result"]["tools"]] == ["probe_whoami"]
    assert '"organization": "acme"' in result_text(
        call(setup.gateway, key, "tools/call", {"name": "probe_whoami"})
    )


def test_a_key_of_one_organization_cannot_reach_anothers_prompts(setup: Setup) -> None:
    for credential in (bearer(setup.keys["acme-admin"]), bearer(setup.issuer.token())):  # both acme
        listed = call(setup.gateway, credential, "prompts/list", {})
        assert "globex_plans" not in [p["name"] for p in listed.json()["result"]["prompts"]]
        refused = call(setup.gateway, credential, "prompts/get", {"name": "globex_plans"})
        assert refused.status_code == 400, refused.text  # as for any name that does not exist
        assert refused.json()["error"]["message"] == "Unknown prompt: globex_plans"
    owner = call(setup.gateway, bearer(setup.keys["globex"]), "prompts/get", {"name": "globex_plans"})
    assert result_text(owner) == "globex only"
