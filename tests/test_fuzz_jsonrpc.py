"""Fuzz the MCP endpoint with malformed and mutated JSON-RPC, in both eras, against one real server.

Whatever arrives (batches, wrong types, huge numbers, deep nesting, broken bytes, odd headers), the answer
is never a 5xx and never shows a traceback. The number of cases per era is $OMNI_MCP_FUZZ_CASES (CI: the
default, 5,000); a raw httpx client and one server per module keep that cheap.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

FUZZ_CASES = int(os.environ.get("OMNI_MCP_FUZZ_CASES", "5000"))
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', '.py", line ')

# Tools safe with any arguments (echo's `times` or hang's `seconds` would only test the sample plugin).
TOOLS = ["demo_sync_add", "demo_move", "demo_crash", "demo_refuse", "demo_nope", ""]
CASES_PER_EXAMPLE = 10
"""Requests sent per Hypothesis example: drawing is the slow part, so each example carries several."""
ODD_VALUES = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 10**30, 10**400, -(10**400), 1e308, -0.0, 0.5,
    "", "\x00", "\ud7ff", "\U0001f600", "2.0", "tools/call", "../../etc/passwd", "a" * 5000, [], {},
]  # fmt: skip
JSON_SCALARS = st.one_of(st.sampled_from(ODD_VALUES), st.integers(), st.text(max_size=10))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)
SESSION = "\u2063session\u2063"
"""Stands in for the handshake-era session id in drawn headers; the test puts the real one in."""
DEEP = "\u2063deep\u2063"
"""Stands in for a deeply nested value, written into the encoded text (json.dumps would recurse)."""
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}
REQUESTS: list[dict[str, Any]] = [
    {"method": "tools/list", "params": {}},
    {"method": "tools/list", "params": {"cursor": "NTAw"}},
    {"method": "prompts/list", "params": {}},
    {"method": "resources/list", "params": {}},
    {"method": "resources/templates/list", "params": {}},
    {"method": "ping", "params": {}},
    {"method": "server/discover", "params": {}},
    {"method": "logging/setLevel", "params": {"level": "debug"}},
    {"method": "prompts/get", "params": {"name": "demo_greet", "arguments": {"name": "x"}}},
    {"method": "resources/read", "params": {"uri": "demo://readme"}},
    {"method": "resources/read", "params": {"uri": "demo://items/crash"}},
    {"method": "resources/subscribe", "params": {"uri": "demo://readme"}},
    {
        "method": "completion/complete",
        "params": {
            "ref": {"type": "ref/prompt", "name": "demo_greet"},
            "argument": {"name": "mood", "value": "h"},
        },
    },
    {
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "f", "version": "1"},
        },
    },
    {"method": "notifications/initialized"},
    {"method": "notifications/cancelled", "params": {"requestId": 1}},
    {"method": "no/such/method", "params": {}},
]
ODD_HEADERS = {
    "content-type": ["text/plain", "application/json; charset=latin-1", "", "multipart/form-data"],
    "accept": ["*/*", "text/html", "", "application/json", "text/event-stream"],
    "mcp-protocol-version": [MODERN, LEGACY, "1999-01-01", "", "2026-07-28, 2025-11-25"],
    "mcp-method": ["tools/call", "", "x" * 300, "prompts/get"],
    "mcp-name": ["", "demo_crash", "x" * 300, "=?utf-8?b?w6k=?="],
    "mcp-session-id": ["", "not-a-session", "0" * 32, "x" * 300],
    "last-event-id": ["", "1", "abc_0", "x" * 300],
}
HUGE_INTEGER = "9" * 5000  # past Python's int/str conversion limit, so json.dumps cannot write it
RAW_DOCUMENTS = [
    b'{"jsonrpc":"2.0","id":NaN,"method":"tools/call","params":{"name":"x","arguments":{"a":1e999}}}',
    f'{{"jsonrpc":"2.0","id":{HUGE_INTEGER},"method":"ping"}}'.encode(),
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo_sync_add","arguments":{"a":'
    + HUGE_INTEGER.encode()
    + b',"b":1}}}',
    b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping","method":"tools/list"}',
    b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}',
    b'{"jsonrpc":"2.0","id":1,"method":"ping"} trailing',
    b"[]",
    b"[[]]",
    b"null",
    b'"\\ud800"',
]
HEADER_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


@st.composite
def base_message(draw: st.DrawFn, era: str) -> dict[str, Any]:
    """A well-formed request of a kind the server handles; mutations start from these."""
    if draw(st.booleans()):
        arguments = draw(st.dictionaries(st.sampled_from(["a", "b", "point", "x"]), JSON_VALUES, max_size=3))
        message = {
            "method": "tools/call",
            "params": {"name": draw(st.sampled_from(TOOLS)), "arguments": arguments},
        }
    else:
        message = json.loads(json.dumps(draw(st.sampled_from(REQUESTS))))  # a copy we may change
    if era == MODERN and "params" in message:
        message["params"]["_meta"] = dict(MODERN_META)
    if not message["method"].startswith("notifications/"):
        message["id"] = draw(st.integers(0, 2**31))
    return {"jsonrpc": "2.0", **message}


def mutate(draw: st.DrawFn, message: dict[str, Any]) -> Any:
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["id", "drop", "replace", "param", "meta", "deep", "jsonrpc", "extra"]))
        params = message.get("params")
        if kind == "id":
            message["id"] = draw(JSON_VALUES)
        elif kind == "drop" and message:
            del message[draw(st.sampled_from(sorted(message)))]
        elif kind == "replace" and message:
            message[draw(st.sampled_from(sorted(message)))] = draw(JSON_VALUES)
        elif kind == "param" and isinstance(params, dict):
            params[draw(st.sampled_from([*sorted(params), "name", "arguments", "cursor", "uri"]))] = draw(
                JSON_VALUES
            )
        elif kind == "meta" and isinstance(params, dict):
            meta = params.setdefault("_meta", {})
            if isinstance(meta, dict):
                key = draw(st.sampled_from([*MODERN_META, "progressToken", "traceparent", "x"]))
                meta[key] = draw(JSON_VALUES)
        elif kind == "deep":
            message["params"] = DEEP
        elif kind == "jsonrpc":
            message["jsonrpc"] = draw(st.sampled_from(["1.0", "2", 2.0, None, ""]))
        else:
            message[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    shape = draw(st.sampled_from(["single"] * 5 + ["batch", "scalar"]))
    if shape == "batch":
        return [message, *draw(st.lists(JSON_VALUES, max_size=2))]
    if shape == "scalar":
        return draw(JSON_VALUES)
    return message


def encode(draw: st.DrawFn, document: Any) -> bytes:
    """Usually the JSON document; sometimes broken bytes: truncated, spliced, not UTF-8, NaN, empty."""
    depth = draw(st.sampled_from([51, 500, 5001]))
    nested = '{"a":' * depth + "1" + "}" * depth if depth % 2 else "[" * depth + "1" + "]" * depth
    encoded = json.dumps(document).replace(json.dumps(DEEP), nested).encode()
    how = draw(st.sampled_from(["json"] * 8 + ["truncate", "splice", "bytes", "raw", "empty"]))
    if how == "truncate":
        return encoded[: draw(st.integers(0, len(encoded)))]
    if how == "splice":
        at = draw(st.integers(0, len(encoded)))
        return encoded[:at] + draw(st.binary(max_size=4)) + encoded[at:]
    if how == "bytes":
        return draw(st.binary(max_size=32))
    if how == "nan":
        return (
            b'{"jsonrpc":"2.0","id":NaN,"method":"tools/call","params":{"name":"x","arguments":{"a":1e999}}}'
        )
    if how == "empty":
        return b""
    return encoded


def headers_for(draw: st.DrawFn, era: str, message: dict[str, Any]) -> dict[str, str]:
    """The headers a client of the era would send for `message`, some dropped or replaced with odd ones."""
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if era == MODERN:
        headers["mcp-protocol-version"] = MODERN
        method, params = message.get("method"), message.get("params")
        if isinstance(method, str) and method.isascii() and method.isprintable():
            headers["mcp-method"] = method
        if isinstance(params, dict) and isinstance(params.get("name"), str) and params["name"].isalnum():
            headers["mcp-name"] = params["name"]
    elif message.get("method") != "initialize":
        headers["mcp-protocol-version"] = LEGACY
        headers["mcp-session-id"] = SESSION
    for name in draw(st.lists(st.sampled_from(sorted(ODD_HEADERS)), max_size=2, unique=True)):
        choice = draw(st.sampled_from(["drop", "odd", "odd", "random"]))
        if choice == "drop":
            headers.pop(name, None)
        elif choice == "odd":
            headers[name] = draw(st.sampled_from(ODD_HEADERS[name]))
        else:
            headers[name] = draw(HEADER_TEXT)
    return headers


@st.composite
def fuzz_case(draw: st.DrawFn, era: str) -> tuple[bytes, dict[str, str]]:
    """One request of the era: a mutated JSON-RPC body and the (partly odd) headers that go with it."""
    message = draw(base_message(era))
    headers = headers_for(draw, era, message)
    return encode(draw, mutate(draw, message)), headers


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with fresh_database_url() as url:
        settings = make_test_settings(url, gateway={"tool_timeout": 5.0, "max_body_bytes": 256 * 1024})
        with serve_in_thread(settings, [("demo", EchoPlugin())]) as running:
            yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


def open_legacy_session(client: httpx.Client, gateway: RunningGateway) -> str:
    opened = client.post(
        gateway.mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": LEGACY,
                "capabilities": {},
                "clientInfo": {"name": "fuzz", "version": "1"},
            },
        },
        headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
    )
    assert opened.status_code == 200, opened.text
    session_id = opened.headers["mcp-session-id"]
    initialized = client.post(
        gateway.mcp_url,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-session-id": session_id,
            "mcp-protocol-version": LEGACY,
        },
    )
    assert initialized.status_code == 202, initialized.text
    return session_id


def assert_sane(response: httpx.Response, sent: bytes, sent_headers: dict[str, str]) -> None:
    context = f"sent {sent[:300]!r} with {sent_headers}: got {response.status_code} {response.text[:500]!r}"
    assert response.status_code < 500, context
    assert not any(marker in response.text for marker in TRACEBACK_MARKERS), context


Cases = list[tuple[bytes, dict[str, str]]]


def send_all(client: httpx.Client, url: str, cases: Cases, era: str, session: str) -> None:
    for sent, sent_headers in cases:
        real_headers = {name: value.replace(SESSION, session) for name, value in sent_headers.items()}
        response = client.post(url, content=sent, headers=real_headers)
        assert_sane(response, sent, real_headers)
        STATUSES[era][response.status_code] += 1


STATUSES: dict[str, Counter[int]] = {MODERN: Counter(), LEGACY: Counter()}
"""Answers seen, by era: printed, and checked to include successes (the fuzz reached the handlers)."""
FUZZ_SETTINGS = settings(
    max_examples=max(1, -(-FUZZ_CASES // CASES_PER_EXAMPLE)),
    deadline=None,
    database=None,  # no example files left in the checkout
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def cases_of(era: str) -> st.SearchStrategy[list[tuple[bytes, dict[str, str]]]]:
    return st.lists(fuzz_case(era), min_size=CASES_PER_EXAMPLE, max_size=CASES_PER_EXAMPLE)


@pytest.fixture(scope="module")
def legacy_session(gateway: RunningGateway, client: httpx.Client) -> str:
    return open_legacy_session(client, gateway)


@FUZZ_SETTINGS
@given(cases=cases_of(MODERN))
def test_modern_requests_never_crash_the_server(
    gateway: RunningGateway, client: httpx.Client, cases: list[tuple[bytes, dict[str, str]]]
) -> None:
    send_all(client, gateway.mcp_url, cases, MODERN, session="")


@FUZZ_SETTINGS
@given(cases=cases_of(LEGACY))
def test_handshake_era_requests_never_crash_the_server(
    gateway: RunningGateway,
    client: httpx.Client,
    legacy_session: str,
    cases: list[tuple[bytes, dict[str, str]]],
) -> None:
    send_all(client, gateway.mcp_url, cases, LEGACY, session=legacy_session)


def test_the_fuzzed_server_still_answers_both_eras(
    gateway: RunningGateway, client: httpx.Client, legacy_session: str
) -> None:
    """After the fuzzing above (as many requests as asked for), the server still serves both eras."""
    for era, statuses in STATUSES.items():
        answers = dict(sorted(statuses.items()))
        print(f"{era}: {sum(statuses.values())} fuzzed requests, answers by status {answers}")
    assert sum(sum(statuses.values()) for statuses in STATUSES.values()) >= 2 * FUZZ_CASES
    assert all(statuses[200] for statuses in STATUSES.values()), "no fuzzed request got through to a handler"
    params = {"name": "demo_sync_add", "arguments": {"a": 2, "b": 3}}
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}
    modern = client.post(
        gateway.mcp_url,
        json={**call, "params": {**params, "_meta": MODERN_META}},
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": "demo_sync_add",
        },
    )
    assert modern.status_code == 200, modern.text
    assert '"sum":5' in modern.text.replace(" ", "")
    fresh_session = open_legacy_session(client, gateway)
    legacy = client.post(
        gateway.mcp_url,
        json=call,
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-session-id": fresh_session,
            "mcp-protocol-version": LEGACY,
        },
    )
    assert legacy.status_code == 200, legacy.text
    assert '"sum":5' in legacy.text.replace(" ", "")
