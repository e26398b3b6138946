"""Origin and Host checks, body-size limits and malformed input, against the real server."""

from __future__ import annotations

import httpx
import pytest

from omni_mcp.testing import RunningGateway

MODERN_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
LEGACY_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def post(gateway: RunningGateway, body: bytes | dict[str, object], headers: dict[str, str]) -> httpx.Response:
    if isinstance(body, dict):
        return httpx.post(gateway.mcp_url, json=body, headers=headers, timeout=10)
    return httpx.post(gateway.mcp_url, content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("origin", ["http://evil.example", "https://localhost.evil.example:8000", "null"])
def test_foreign_origin_is_refused_with_a_jsonrpc_error(gateway: RunningGateway, origin: str) -> None:
    response = post(gateway, INITIALIZE, {**LEGACY_HEADERS, "origin": origin})
    assert response.status_code == 403
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": INITIALIZE["id"],  # the refused request's own id
        "error": {"code": -32600, "message": "Origin not allowed"},
    }


def test_allowed_origin_and_no_origin_pass(gateway: RunningGateway) -> None:
    with_origin = post(gateway, INITIALIZE, {**LEGACY_HEADERS, "origin": "http://localhost:6274"})
    without = post(gateway, INITIALIZE, LEGACY_HEADERS)
    assert with_origin.status_code == 200
    assert without.status_code == 200
    assert with_origin.headers["mcp-session-id"]


def test_rebinding_host_is_refused(gateway: RunningGateway) -> None:
    response = post(gateway, INITIALIZE, {**LEGACY_HEADERS, "host": "attacker.example"})
    assert response.status_code == 421
    assert response.json()["error"]["message"] == "Host not allowed"


def test_origin_check_covers_other_routes_too(gateway: RunningGateway) -> None:
    response = httpx.get(gateway.base_url + "/health", headers={"origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json() == {"error": "Origin not allowed"}


def test_oversized_body_is_refused_by_content_length(gateway: RunningGateway) -> None:
    big = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"' + b"x" * 70_000 + b'"}}'
    response = post(gateway, big, MODERN_HEADERS)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "Request body larger than 65536 bytes"


def test_oversized_streamed_body_is_refused(gateway: RunningGateway) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    response = httpx.post(gateway.mcp_url, content=chunks(), headers=MODERN_HEADERS, timeout=10)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"just a string"',
        b'{"jsonrpc":"2.0","id":1}',
        b'{"jsonrpc":"2.0","id":1,"method":7}',
        b"[" * 30_000 + b"]" * 30_000,  # nested deeper than Python's JSON parser goes
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"\xff\xfe\x00{",  # not UTF-8
    ],
)
@pytest.mark.parametrize("headers", [MODERN_HEADERS, LEGACY_HEADERS], ids=["modern", "legacy"])
def test_malformed_jsonrpc_gets_a_clear_error_and_server_survives(
    gateway: RunningGateway, body: bytes, headers: dict[str, str]
) -> None:
    response = post(gateway, body, headers)
    assert 400 <= response.status_code < 500
    payload = response.json()
    assert payload["jsonrpc"] == "2.0"
    assert payload["error"]["code"] in (-32700, -32600, -32602, -32020)
    assert httpx.get(gateway.base_url + "/health").status_code == 200


def test_every_response_carries_a_request_id(gateway: RunningGateway) -> None:
    response = httpx.get(gateway.base_url + "/health", headers={"x-request-id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    unsafe = httpx.get(gateway.base_url + "/health", headers={"x-request-id": "a b;<script>"})
    assert unsafe.headers["x-request-id"] != "a b;<script>"
    assert len(unsafe.headers["x-request-id"]) == 32
