"""Handshake-era sessions end cleanly and are shared fairly, against a real server.

A session's state goes when it ends (DELETE, idle timeout); no caller or organization can take every
session or GET stream (caps, answered 429 with a JSON-RPC error); and one organization's churn never ends
another organization's live session.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import mcp
import mcp.types as types
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.server.streamable_http import EventMessage
from mcp.shared.exceptions import MCPError

from omni_mcp.default_plugins.api_keys import api_key_service
from omni_mcp.gateway.session_events import SessionEventStore
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.sample_plugins import EchoPlugin

HANDSHAKE_VERSION = "2025-11-25"
POST_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": HANDSHAKE_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "session-test", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
POLL_LIMIT_SECONDS = 10.0


def open_session(client: httpx.Client, url: str, credential: dict[str, str]) -> httpx.Response:
    """POST initialize; on success also send `notifications/initialized`, as every client does."""
    opened = client.post(url, json=INITIALIZE, headers={**POST_HEADERS, **credential})
    if opened.status_code == 200:
        initialized = client.post(url, json=INITIALIZED, headers=in_session(opened, credential))
        assert initialized.status_code == 202, initialized.text
    return opened


def in_session(opened: httpx.Response, credential: dict[str, str]) -> dict[str, str]:
    return {
        **POST_HEADERS,
        **credential,
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": HANDSHAKE_VERSION,
    }


def ping(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(url, json={"jsonrpc": "2.0", "id": 7, "method": "ping"}, headers=headers)


def poll_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + POLL_LIMIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def assert_refused_by_cap(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["error"]["message"].startswith(f"Too many open {what}"), body


@dataclass
class Tenants:
    gateway: RunningGateway
    keys: dict[str, dict[str, str]]  # name -> credential header


@contextlib.contextmanager
def tenants(**sections: dict[str, Any]) -> Iterator[Tenants]:
    """A server with local mode off, organizations acme and globex, and API keys: acme-1, acme-2, globex."""
    with fresh_database_url() as url:
        settings = make_test_settings(url, auth={"local_mode": False}, **sections)
        with serve_in_thread(settings, [("demo", EchoPlugin())]) as gateway:
            gateway.configure(lambda t: t.create_organization("acme", actor="test"))
            gateway.configure(lambda t: t.create_organization("globex", actor="test"))
            service = api_key_service(gateway.runtime)
            keys = {
                name: {"x-api-key": service.create(org, role="member", actor="test").key}
                for name, org in (("acme-1", "acme"), ("acme-2", "acme"), ("globex", "globex"))
            }
            yield Tenants(gateway, keys)


@contextlib.contextmanager
def local_server(**sections: dict[str, Any]) -> Iterator[RunningGateway]:
    """A server in local mode (every request is the local user of the default organization)."""
    with fresh_database_url() as url:
        settings = make_test_settings(url, **sections)
        with serve_in_thread(settings, [("demo", EchoPlugin())]) as gateway:
            yield gateway


def test_a_deleted_session_leaves_nothing_behind() -> None:
    with local_server() as gateway, httpx.Client(timeout=10) as client:
        events = gateway.runtime.events
        opened = [open_session(client, gateway.mcp_url, {}) for _ in range(30)]
        assert all(response.status_code == 200 for response in opened)
        # each can be told that a list changed (noted as its notifications/initialized is handled)
        poll_until(lambda: events.handshake_clients == 30, "every session is known")
        for response in opened:
            headers = in_session(response, {})
            assert client.delete(gateway.mcp_url, headers=headers).status_code == 200
            assert ping(client, gateway.mcp_url, headers).status_code == 404
        assert events.handshake_clients == 0


@pytest.mark.anyio
async def test_the_sdk_clients_session_is_forgotten_when_it_closes() -> None:
    with local_server() as gateway:
        events = gateway.runtime.events
        async with mcp.Client(gateway.mcp_url, mode="legacy", cache=None) as client:
            assert (await client.list_tools()).tools
            assert events.handshake_clients == 1
        assert events.handshake_clients == 0  # the client DELETEd its session on the way out


def test_an_idle_session_is_closed_and_forgotten() -> None:
    with local_server(gateway={"session_idle_timeout": 0.3}) as gateway, httpx.Client(timeout=10) as client:
        headers = in_session(open_session(client, gateway.mcp_url, {}), {})
        poll_until(lambda: gateway.runtime.events.handshake_clients == 1, "the session is known")
        # (polled without touching the session: any request to it would keep it alive)
        poll_until(lambda: gateway.runtime.events.handshake_clients == 0, "the idle session is forgotten")
        assert ping(client, gateway.mcp_url, headers).status_code == 404


def test_open_sessions_are_capped_per_caller_and_per_organization() -> None:
    caps = {"max_per_caller": 3, "max_per_organization": 5}
    with tenants(sessions=caps) as t, httpx.Client(timeout=10) as client:
        url = t.gateway.mcp_url
        first = [open_session(client, url, t.keys["acme-1"]) for _ in range(3)]
        assert [response.status_code for response in first] == [200, 200, 200]
        assert_refused_by_cap(open_session(client, url, t.keys["acme-1"]), "sessions for this caller")

        assert [open_session(client, url, t.keys["acme-2"]).status_code for _ in range(2)] == [200, 200]
        assert_refused_by_cap(open_session(client, url, t.keys["acme-2"]), "sessions for this organization")
        assert open_session(client, url, t.keys["globex"]).status_code == 200  # another organization

        held = in_session(first[0], t.keys["acme-1"])
        assert ping(client, url, held).status_code == 200  # sessions already open keep serving
        assert client.delete(url, headers=held).status_code == 200  # ending one makes room
        assert open_session(client, url, t.keys["acme-2"]).status_code == 200


@pytest.mark.anyio
async def test_a_caller_at_its_session_cap_gets_an_error_in_each_era() -> None:
    with tenants(sessions={"max_per_caller": 1}) as t:
        key = t.keys["acme-1"]
        async with sdk_client(t.gateway, key, "legacy") as client:
            assert (await client.list_tools()).tools
            with pytest.raises(ExceptionGroup) as refused:
                async with sdk_client(t.gateway, key, "legacy") as second:
                    await second.list_tools()
            assert refused.group_contains(MCPError, match="Too many open sessions for this caller")
            async with sdk_client(t.gateway, key, "2026-07-28") as modern:  # stateless: no session taken
                assert (await modern.list_tools()).tools


def test_get_streams_are_capped_per_caller_and_freed_when_closed() -> None:
    with tenants(sessions={"max_streams_per_caller": 1}) as t, httpx.Client(timeout=10) as client:
        url, key = t.gateway.mcp_url, t.keys["acme-1"]
        first, second = (stream_headers(open_session(client, url, key), key) for _ in range(2))
        with client.stream("GET", url, headers=first) as stream:
            assert stream.status_code == 200
            assert_refused_by_cap(client.get(url, headers=second), "streams for this caller")
            other_key = t.keys["acme-2"]
            with client.stream(
                "GET", url, headers=stream_headers(open_session(client, url, other_key), other_key)
            ) as other:
                assert other.status_code == 200  # another caller of the same organization

        def second_stream_opens() -> bool:
            with client.stream("GET", url, headers=second) as stream:
                return stream.status_code == 200

        poll_until(second_stream_opens, "the closed stream's slot is given back")


def test_one_organizations_churn_never_ends_anothers_session() -> None:
    with tenants(gateway={"max_sessions": 20}) as t, httpx.Client(timeout=10) as client:
        url = t.gateway.mcp_url
        kept = in_session(open_session(client, url, t.keys["globex"]), t.keys["globex"])
        for _ in range(60):  # three times as many sessions as may be open at once
            churned = open_session(client, url, t.keys["acme-1"])
            assert client.delete(url, headers=in_session(churned, t.keys["acme-1"])).status_code == 200
        assert ping(client, url, kept).status_code == 200


def stream_headers(opened: httpx.Response, credential: dict[str, str]) -> dict[str, str]:
    return {**in_session(opened, credential), "accept": "text/event-stream"}


@contextlib.asynccontextmanager
async def sdk_client(
    gateway: RunningGateway, credential: dict[str, str], era: str
) -> AsyncIterator[mcp.Client]:
    http = httpx2.AsyncClient(headers=credential)
    transport = streamable_http_client(gateway.mcp_url, http_client=http)
    async with http, mcp.Client(transport, mode=era, cache=None) as client:
        yield client


def sse_events(lines: Iterator[str], until_result: bool = False) -> list[dict[str, str]]:
    """Parse SSE events (id, data) from a stream; stop after the first JSON-RPC result if asked."""
    events: list[dict[str, str]] = []
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                events.append(event)
                if until_result and '"result"' in event.get("data", ""):
                    break
            event = {}
            continue
        field_name, _, value = line.partition(":")
        event[field_name] = value.strip()
    return events


def test_a_resumed_stream_replays_its_own_sessions_missed_events_only() -> None:
    with local_server(sessions={"replay_events": 10}) as gateway, httpx.Client(timeout=10) as client:
        url = gateway.mcp_url
        mine, other = (in_session(open_session(client, url, {}), {}) for _ in range(2))
        with client.stream(
            "POST", url, json={"jsonrpc": "2.0", "id": 9, "method": "ping"}, headers=mine
        ) as sent:
            priming, answer = sse_events(sent.iter_lines())
        assert priming["data"] == "" and priming["id"]  # the cursor a client resumes from
        assert json.loads(answer["data"]) == {"jsonrpc": "2.0", "id": 9, "result": {}}

        resume = {"accept": "text/event-stream", "last-event-id": priming["id"]}
        with client.stream("GET", url, headers={**mine, **resume}) as resumed:
            assert resumed.status_code == 200
            replayed = sse_events(resumed.iter_lines(), until_result=True)
        assert [(event["id"], event["data"]) for event in replayed] == [(answer["id"], answer["data"])]

        with client.stream("GET", url, headers={**other, **resume}) as stolen:  # another session's cursor
            assert stolen.status_code == 200
            assert [event for event in sse_events(stolen.iter_lines()) if event.get("data")] == []


@pytest.mark.anyio
async def test_a_session_keeps_only_its_last_events_for_replay() -> None:
    store = SessionEventStore(max_events=2, max_age=60)
    replayed: list[EventMessage] = []

    async def collect(event: EventMessage) -> None:
        replayed.append(event)

    first = await store.store_event("stream", None)
    second = await store.store_event("stream", types.JSONRPCResponse(jsonrpc="2.0", id=1, result={}))
    third = await store.store_event("stream", types.JSONRPCResponse(jsonrpc="2.0", id=2, result={}))
    assert await store.replay_events_after(first, collect) is None  # pushed out by newer events
    assert await store.replay_events_after(second, collect) == "stream"
    assert [event.event_id for event in replayed] == [third]
    elsewhere = SessionEventStore(max_events=2, max_age=60)
    assert await elsewhere.replay_events_after(second, collect) is None  # another session's cursor
