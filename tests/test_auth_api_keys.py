"""API keys: CLI (shown once, stored as a hash, audited), caching, revocation across processes, last use."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from omni_mcp.audit.models import AuditLog
from omni_mcp.auth.api_keys import KEY_PATTERN, ApiKeyService, ApiKeyVerifier, KeyRecord, parse_duration
from omni_mcp.auth.errors import VerifierUnavailable
from omni_mcp.auth.models import ApiKey
from omni_mcp.context import Actor
from omni_mcp.db.engine import create_db_engine
from omni_mcp.default_plugins.api_keys import api_key_service, key_state
from omni_mcp.settings import DatabaseSettings
from omni_mcp.tenancy.service import ConfigError
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.auth_probe import ProbePlugin

ON_POSTGRES = bool(os.environ.get("OMNI_MCP_TEST_DATABASE_URL"))


@pytest.fixture
def env(omni_database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    clean.update(OMNI_MCP_DATABASE__URL=omni_database_url, OMNI_MCP_PLUGINS__ALLOW="[]")
    return clean


def omni(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def omni_json(env: dict[str, str], *args: str) -> Any:
    result = omni(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = create_db_engine(DatabaseSettings(url=url))
    try:
        yield engine
    finally:
        engine.dispose()


def whoami(gateway: RunningGateway, key: str) -> httpx.Response:
    return httpx.get(gateway.base_url + "/probe/whoami", headers={"x-api-key": key})


def server_settings(database_url: str, **auth: Any) -> Any:
    return make_test_settings(database_url, auth={"local_mode": False, **auth})


def test_cli_creates_a_key_shown_once_lists_and_revokes_it_with_audit(
    env: dict[str, str], omni_database_url: str
) -> None:
    assert omni(env, "org", "create", "acme").returncode == 0
    created = omni_json(
        env,
        "apikey",
        "create",
        "acme",
        "--role",
        "member",
        "--tools",
        "probe_whoami,other_tool",
        "--expires",
        "30d",
    )
    key = created["key"]
    assert KEY_PATTERN.match(key) and created["id"] == key[:12]
    assert created["organization"] == "acme" and created["role"] == "member"
    assert created["tools"] == ["other_tool", "probe_whoami"]
    assert created["status"] == "active" and created["expires_at"]

    text = omni(env, "apikey", "create", "default", "--role", "admin", "--name", "ci")  # made on demand
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("omk_") == 2  # the id in the first line, the key once
    assert "Store it now: it is not shown again." in text.stdout

    listed = omni_json(env, "apikey", "list", "acme")
    assert [row["id"] for row in listed] == [created["id"]]
    listing = omni(env, "apikey", "list", "acme").stdout + json.dumps(listed)
    assert key not in listing and key[13:] not in listing  # neither the key nor its secret part

    with engine_for(omni_database_url) as engine, Session(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == created["id"])).one()
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key[13:] not in json.dumps(row.model_dump(mode="json"))

    # The key works against a server on the same database.
    with serve_in_thread(server_settings(omni_database_url), [("probe", ProbePlugin())]) as gateway:
        seen = whoami(gateway, key).json()
        assert (seen["organization"], seen["role"], seen["kind"]) == ("acme", "member", "api_key")
        assert seen["allowed_tools"] == ["other_tool", "probe_whoami"]

    revoked = omni_json(env, "apikey", "revoke", created["id"])
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    assert omni_json(env, "apikey", "revoke", created["id"])["status"] == "revoked"  # idempotent
    assert omni_json(env, "apikey", "list", "acme")[0]["status"] == "revoked"

    with engine_for(omni_database_url) as engine, Session(engine) as session:
        audit = session.exec(
            select(AuditLog).where(AuditLog.entity_type == "api_key").order_by(col(AuditLog.id))
        ).all()
    assert [(a.entity_id, a.action, a.actor) for a in audit if a.entity_id == created["id"]] == [
        (created["id"], "create", "cli"),
        (created["id"], "revoke", "cli"),
    ]
    assert key[13:] not in json.dumps([(a.before, a.after) for a in audit])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apikey", "create", "nowhere", "--role", "admin"], "no organization 'nowhere'"),
        (["apikey", "create", "default", "--role", "admin", "--expires", "soon"], "invalid duration 'soon'"),
        (["apikey", "create", "default", "--role", "boss"], "Invalid value for '--role'"),
        (
            ["apikey", "create", "default", "--role", "admin", "--permission", "root"],
            "unknown permission 'root'",
        ),
        (["apikey", "revoke", "omk_zzzzzzzz"], "no API key omk_zzzzzzzz"),
        (["apikey", "revoke", "12"], "invalid key id '12'"),
    ],
)
def test_cli_errors_are_one_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = omni(env, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_durations() -> None:
    assert parse_duration("90d").days == 90
    assert parse_duration("12h").total_seconds() == 12 * 3600
    assert parse_duration("2w").days == 14
    for bad in ("0d", "-1d", "1y", "", "d"):
        with pytest.raises(ConfigError):
            parse_duration(bad)


@pytest.fixture
def gateway(omni_database_url: str) -> Iterator[RunningGateway]:
    settings = server_settings(omni_database_url, api_key_cache_seconds=3600, last_used_flush_seconds=3600)
    with serve_in_thread(settings, [("probe", ProbePlugin())]) as running:
        running.configure(lambda t: t.create_organization("acme", actor="test"))
        yield running


def count_key_queries(gateway: RunningGateway) -> list[str]:
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_keys" in statement:
            statements.append(statement)

    event.listen(gateway.runtime.engine, "before_cursor_execute", remember)
    return statements


def test_a_known_key_costs_no_database_query_per_request(gateway: RunningGateway) -> None:
    key = api_key_service(gateway.runtime).create("acme", role="member", actor="test").key
    queries = count_key_queries(gateway)
    for _ in range(20):
        assert whoami(gateway, key).status_code == 200
    assert len(queries) == 1  # the first request looked the key up; the others used the cache
    assert key_state(gateway.runtime).verifier.lookups == 1
    # Guessing secrets for a real key id, or random ids, does not reach the database each time either.
    for _ in range(5):
        assert whoami(gateway, key[:-3] + "xyz").status_code == 401
        assert whoami(gateway, "omk_aaaaaaaa_" + "A" * 43).status_code == 401
    assert len(queries) == 2


def test_concurrent_requests_for_a_key_not_in_the_cache_read_it_once(gateway: RunningGateway) -> None:
    service = api_key_service(gateway.runtime)
    key = service.create("acme", role="member", actor="test").key
    reads: list[str] = []

    def slow_lookup(prefix: str) -> KeyRecord | None:
        reads.append(prefix)
        time.sleep(0.2)  # a slow database: every request below arrives while the first read is on
        return service.lookup(prefix)

    verifier = ApiKeyVerifier(slow_lookup, ttl_seconds=60)
    actors: list[Actor] = []

    async def resolve_many() -> None:
        async def one() -> None:
            actors.append(await verifier.actor_for(key))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)

    anyio.run(resolve_many)
    assert reads == [key[:12]]
    assert len(actors) == 20 and {a.id for a in actors} == {f"apikey:{key[:12]}"}


def test_a_database_that_went_away_means_try_again_for_every_waiting_request() -> None:
    reads: list[str] = []

    def failing_lookup(prefix: str) -> KeyRecord | None:
        reads.append(prefix)
        time.sleep(0.2)
        raise OperationalError("SELECT ...", {}, Exception("connection refused"))

    verifier = ApiKeyVerifier(failing_lookup, ttl_seconds=60)
    key = "omk_abcdefgh_" + "A" * 43
    errors: list[BaseException] = []

    async def resolve_many() -> None:
        async def one() -> None:
            try:
                await verifier.actor_for(key)
            except VerifierUnavailable as error:
                errors.append(error)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)

    anyio.run(resolve_many)
    assert reads == ["omk_abcdefgh"]  # one read for all of them, and it failed for all of them
    assert [(e.status, e.reason) for e in errors] == [(503, "API keys cannot be checked right now")] * 5
    anyio.run(resolve_many)  # nothing was cached: the next requests try the database again
    assert len(reads) == 2


def test_last_used_is_written_in_batches_not_per_request(gateway: RunningGateway) -> None:
    key = api_key_service(gateway.runtime).create("acme", role="member", actor="test").key
    queries = count_key_queries(gateway)
    for _ in range(10):
        assert whoami(gateway, key).status_code == 200
    assert not [q for q in queries if q.lstrip().upper().startswith("UPDATE")]
    assert api_key_service(gateway.runtime).list_keys("acme")[0]["last_used_at"] is None  # not yet flushed


def test_last_used_is_flushed_periodically_and_at_shutdown(omni_database_url: str) -> None:
    settings = server_settings(omni_database_url, last_used_flush_seconds=0.2)
    with serve_in_thread(settings, [("probe", ProbePlugin())]) as running:
        running.configure(lambda t: t.create_organization("acme", actor="test"))
        service = api_key_service(running.runtime)
        key = service.create("acme", role="member", actor="test").key
        queries = count_key_queries(running)
        for _ in range(20):
            assert whoami(running, key).status_code == 200
        deadline = time.monotonic() + 5
        while service.list_keys("acme")[0]["last_used_at"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.list_keys("acme")[0]["last_used_at"] is not None
        updates = [q for q in queries if q.lstrip().upper().startswith("UPDATE")]
        assert 1 <= len(updates) < 20
    later = server_settings(omni_database_url, last_used_flush_seconds=3600)
    with serve_in_thread(later, [("probe", ProbePlugin())]) as running:
        other = api_key_service(running.runtime).create("acme", role="member", actor="test")
        assert whoami(running, other.key).status_code == 200
    with engine_for(omni_database_url) as engine:
        rows = {row["id"]: row for row in ApiKeyService(engine).list_keys("acme")}
    assert rows[other.view["id"]]["last_used_at"] is not None  # flushed when the server stopped


def test_revocation_by_another_process_takes_effect_promptly(
    env: dict[str, str], omni_database_url: str
) -> None:
    """PostgreSQL: the revocation's NOTIFY reaches the server at once (the cache TTL is an hour here).
    SQLite has no broadcast: the cache TTL bounds how long another process keeps trusting the key."""
    ttl = 3600 if ON_POSTGRES else 1.0
    settings = server_settings(omni_database_url, api_key_cache_seconds=ttl)
    with serve_in_thread(settings, [("probe", ProbePlugin())]) as running:
        running.configure(lambda t: t.create_organization("acme", actor="test"))
        key = api_key_service(running.runtime).create("acme", role="member", actor="test").key
        assert whoami(running, key).status_code == 200  # now cached
        assert omni(env, "apikey", "revoke", key[:12]).returncode == 0  # the CLI: another process
        started = time.monotonic()
        while whoami(running, key).status_code == 200:
            assert time.monotonic() - started < 5, "the revocation did not reach the server"
            time.sleep(0.05)
        response = whoami(running, key)
        assert response.status_code == 401
        assert 'error_description="API key revoked"' in response.headers["www-authenticate"]
