"""The shared upstream HTTP helper against a real local HTTP server answering as scripted."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from omni_mcp import (
    ApiAuthError,
    ApiRateLimited,
    ApiUnavailable,
    RetryPolicy,
    attempts_of,
    raise_for_status,
    send_with_retries,
    upstream_client,
)

SECRET = "sk-live-0123456789abcdef"
Answer = tuple[int, dict[str, str], str]


class Scripted:
    """Answers requests with the next scripted (status, headers, body); counts what it was sent."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests = 0
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                script.requests += 1
                status, headers, body = script.answers.pop(0) if script.answers else (200, {}, "{}")
                data = body.encode()
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/run"


@pytest.fixture
def upstream() -> Iterator[Scripted]:
    scripted = Scripted()
    thread = threading.Thread(target=scripted.server.serve_forever, daemon=True)
    thread.start()
    yield scripted
    scripted.server.shutdown()
    scripted.server.server_close()


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def post(url: str, waits: Waits, policy: RetryPolicy | None = None) -> httpx.Response:
    async with upstream_client(timeout=10) as http:
        return await send_with_retries(
            http,
            lambda: http.build_request("POST", url, json={"q": 1}, headers={"authorization": SECRET}),
            retry=policy or RetryPolicy(max_retries=2, backoff=4.0),
            sleep=waits,
        )


@pytest.mark.anyio
async def test_retry_after_is_honoured_over_backoff(upstream: Scripted) -> None:
    upstream.answers = [
        (503, {"retry-after": "0"}, "{}"),
        (429, {"retry-after": "2"}, "{}"),
        (200, {}, '{"ok":1}'),
    ]
    waits = Waits()
    response = await post(upstream.url, waits)
    assert response.status_code == 200 and response.json() == {"ok": 1}
    assert waits.seconds == [0.0, 2.0]  # the upstream's word, not 4 s then 8 s of backoff
    assert upstream.requests == 3 and attempts_of(response) == 3


@pytest.mark.anyio
async def test_backoff_doubles_and_is_capped_without_retry_after(upstream: Scripted) -> None:
    upstream.answers = [(502, {}, "{}")] * 4
    waits = Waits()
    response = await post(upstream.url, waits, RetryPolicy(max_retries=3, backoff=4.0, max_wait=10.0))
    assert response.status_code == 502 and attempts_of(response) == 4
    assert waits.seconds == [4.0, 8.0, 10.0]


@pytest.mark.anyio
async def test_exhausted_rate_limit_maps_to_an_error_without_the_credential(upstream: Scripted) -> None:
    quoted = json.dumps({"error": {"message": f"slow down, key {SECRET}"}})
    upstream.answers = [(429, {"retry-after": "7"}, quoted)] * 3
    response = await post(upstream.url, Waits())
    with pytest.raises(ApiRateLimited) as raised:
        raise_for_status(response, service="Acme", secrets=[SECRET])
    message = str(raised.value)
    assert SECRET not in message and SECRET not in raised.value.detail
    assert "Acme's rate limit was reached (HTTP 429 Too Many Requests" in message
    assert "(3 attempts). Try again in 7 s." in message
    assert raised.value.retry_after == 7.0 and raised.value.status == 429


@pytest.mark.anyio
async def test_a_refused_credential_is_not_retried(upstream: Scripted) -> None:
    upstream.answers = [(401, {}, '{"detail": "bad key"}')]
    response = await post(upstream.url, Waits())
    assert upstream.requests == 1
    with pytest.raises(ApiAuthError, match=r"Acme refused the credential \(HTTP 401 Unauthorized: bad key\)"):
        raise_for_status(response, service="Acme")


@pytest.mark.anyio
async def test_an_unreachable_upstream_is_unavailable_after_the_retries() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits = Waits()
    with pytest.raises(ApiUnavailable, match=r"could not connect to 127\.0\.0\.1 \(ConnectError\)") as raised:
        await post(f"http://127.0.0.1:{port}/", waits)
    assert raised.value.attempts == 3 and waits.seconds == [4.0, 8.0]
