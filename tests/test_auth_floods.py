"""Unauthenticated floods: bad credentials are limited per client address before any lookup, and unknown
key prefixes are remembered briefly without pushing known keys out of the cache."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from sqlmodel import Session

from omni_mcp.auth.api_keys import ApiKeyService, ApiKeyVerifier
from omni_mcp.db import migrate
from omni_mcp.db.engine import create_db_engine
from omni_mcp.default_plugins.api_keys import api_key_service, key_state
from omni_mcp.ratelimit.limiter import RATE_LIMITED
from omni_mcp.settings import DatabaseSettings
from omni_mcp.tenancy.models import Organization
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.auth_probe import ProbePlugin
from tests.redis_for_tests import redis_url_for_tests

REDIS_URL = redis_url_for_tests(default=None)
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 41,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"},
    },
}


def random_key() -> str:
    alphabet = string.ascii_lowercase + string.digits
    prefix = "omk_" + "".join(secrets.choice(alphabet) for _ in range(8))
    return prefix + "_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))


def post(gateway: RunningGateway, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        gateway.mcp_url,
        json=INITIALIZE,
        headers={"accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )


def flood_settings(database_url: str, **redis: Any) -> Any:
    return make_test_settings(
        database_url,
        auth={"local_mode": False},
        # Refills one failure a minute: nothing comes back while the test runs.
        rate_limit={"enabled": True, "failed_auth_per_minute": 1, "failed_auth_burst": 3},
        redis=redis,
    )


@pytest.fixture(params=["memory", "redis"])
def gateway(request: pytest.FixtureRequest, omni_database_url: str) -> Iterator[RunningGateway]:
    redis: dict[str, str] = {}
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("needs Redis: set OMNI_MCP_TEST_REDIS_URL (CI runs one)")
        import redis as redis_client

        redis_client.Redis.from_url(REDIS_URL).flushdb()  # this test run's own database number
        redis = {"url": REDIS_URL}
    with serve_in_thread(flood_settings(omni_database_url, **redis), [("probe", ProbePlugin())]) as running:
        yield running


def test_an_address_presenting_bad_keys_gets_429_before_any_lookup(gateway: RunningGateway) -> None:
    good = api_key_service(gateway.runtime).create("default", role="member", actor="test").key
    assert post(gateway, {"x-api-key": good}).status_code == 200  # good keys never draw from the budget
    verifier = key_state(gateway.runtime).verifier
    before = verifier.lookups

    answers = [post(gateway, {"x-api-key": random_key()}) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    fourth = post(gateway, {"x-api-key": random_key()})  # the burst is spent: this one is the limit
    assert fourth.status_code == 429
    assert verifier.lookups == before + 4

    flood = [post(gateway, {"x-api-key": random_key()}) for _ in range(20)]
    forged_token = post(gateway, {"authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"})
    assert {a.status_code for a in [*flood, forged_token]} == {429}
    assert verifier.lookups == before + 4  # the blocked address costs no database lookup

    body = flood[-1].json()
    assert body["jsonrpc"] == "2.0" and body["id"] == 41  # the request's own id, in JSON-RPC shape
    assert body["error"]["code"] == RATE_LIMITED
    retry = int(flood[-1].headers["retry-after"])
    assert 1 <= retry <= 60 and body["error"]["data"] == {"retryAfter": retry}
    assert body["error"]["message"] == f"Too many failed authentication attempts; retry after {retry} s"

    # While blocked, the address's good key waits too; a request without any credential is not affected.
    assert post(gateway, {"x-api-key": good}).status_code == 429
    assert post(gateway, {}).status_code == 401
    assert httpx.get(gateway.base_url + "/health").status_code == 200


def test_the_limit_can_be_turned_off(omni_database_url: str) -> None:
    settings = make_test_settings(
        omni_database_url,
        auth={"local_mode": False},
        rate_limit={"enabled": True, "failed_auth_per_minute": 0},
    )
    with serve_in_thread(settings, [("probe", ProbePlugin())]) as running:
        assert {post(running, {"x-api-key": random_key()}).status_code for _ in range(25)} == {401}


@pytest.mark.anyio
async def test_unknown_prefixes_are_remembered_without_evicting_known_keys(omni_database_url: str) -> None:
    engine = create_db_engine(DatabaseSettings(url=omni_database_url))
    try:
        migrate.upgrade(engine)
        service = ApiKeyService(engine)
        with Session(engine) as session:
            session.add(Organization(slug="acme", name="acme"))
            session.commit()
        good = service.create("acme", role="member", actor="test").key
        verifier = ApiKeyVerifier(service.lookup, ttl_seconds=300, max_cached_keys=10, max_unknown_keys=10)
        await verifier.actor_for(good)
        bad = random_key()
        for _ in range(3):
            with pytest.raises(Exception, match="unknown API key"):
                await verifier.actor_for(bad)
        assert verifier.lookups == 2  # an unknown prefix is looked up once, then remembered

        for _ in range(50):  # more unknown prefixes than either cache holds
            with pytest.raises(Exception, match="unknown API key"):
                await verifier.actor_for(random_key())
        lookups = verifier.lookups
        assert (await verifier.actor_for(good)).organization == "acme"
        assert verifier.lookups == lookups  # the known key is still cached: the flood did not push it out
    finally:
        await anyio.to_thread.run_sync(engine.dispose)
