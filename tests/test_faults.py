"""Faults survived, nothing lost: the test's own PostgreSQL restarted, its own Redis stopped and restarted,
processes killed. Each scenario prints what it saw: errors during the outage, seconds to recover, call-audit
records written versus successful calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loguru import logger
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

from omni_mcp.audit.calls import CallAuditor
from omni_mcp.audit.models import CallLog
from omni_mcp.context import Actor
from omni_mcp.db import migrate
from omni_mcp.ratelimit.buckets import Limit
from omni_mcp.ratelimit.limiter import Limits, RateLimiter
from omni_mcp.tenancy.models import Organization
from tests.private_servers import PrivatePostgres, PrivateRedis, private_postgres, private_redis

pytestmark = pytest.mark.anyio


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING", format="{level} {message}")
    yield lines
    logger.remove(sink)


def call_records(url: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(CallLog)).one()[0])  # type: ignore[call-overload]
    finally:
        engine.dispose()


async def test_the_audit_queue_keeps_records_while_the_database_is_away_and_says_when_it_drops(
    postgres: PrivatePostgres, log_lines: list[str]
) -> None:
    engine = create_engine(postgres.url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        organization = Organization(slug="acme", name="Acme")
        session.add(organization)
        session.commit()
        organization_id = organization.id
    assert organization_id is not None
    auditor = CallAuditor(engine, batch_size=10, max_pending=50)

    def record(count: int) -> None:
        for _ in range(count):
            auditor.record(
                organization_id=organization_id,
                actor="user:u",
                kind="tool",
                name="t",
                outcome="ok",
                duration_ms=1,
            )

    postgres.stop()
    record(30)
    await auditor.flush()  # refused: the records wait
    assert (auditor.pending, auditor.written, auditor.dropped) == (30, 0, 0)
    assert not any("dropping" in line for line in log_lines)
    record(40)  # over the bound: the oldest go, counted, and said once
    await auditor.flush()
    assert (auditor.pending, auditor.dropped) == (50, 20)
    assert sum("dropping the oldest" in line for line in log_lines) == 1

    postgres.start()
    engine.dispose()  # (the pool pings anyway; this only saves the failed attempt)
    await auditor.flush()
    print(f"\naudit: {auditor.written} written, {auditor.dropped} dropped of 70 recorded, bound 50")
    assert (auditor.pending, auditor.written) == (0, 50)
    assert call_records(postgres.url) == 50
    assert any("the database is back; 20 records were dropped" in line for line in log_lines)
    engine.dispose()


async def test_rate_limits_fall_back_to_this_process_while_redis_is_away(
    own_redis: PrivateRedis, log_lines: list[str]
) -> None:
    limiter = RateLimiter(
        Limits(caller=Limit(per_minute=60, burst=3), organization=None), redis_url=own_redis.url
    )
    alice = Actor(id="alice", organization="acme", role="member")
    try:
        assert [(await limiter.check_request(alice)).allowed for _ in range(4)] == [True, True, True, False]
        own_redis.stop()
        # Before: every request was let through while Redis was away. Now this process keeps its own buckets.
        away = [(await limiter.check_request(alice)).allowed for _ in range(4)]
        assert away == [True, True, True, False]
        assert limiter.degraded
        assert sum("limits callers on its own" in line for line in log_lines) == 1
        own_redis.start()  # a fresh, empty Redis: the shared buckets start over
        assert (await limiter.check_request(alice)).allowed
        assert not limiter.degraded
        assert any("Redis is back" in line for line in log_lines)
    finally:
        await limiter.close()
