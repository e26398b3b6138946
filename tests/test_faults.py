"""Faults survived, nothing lost: the test's own PostgreSQL restarted, its own Redis stopped and restarted,
processes killed. Each scenario prints what it saw: errors during the outage, seconds to recover, call-audit
records written versus successful calls."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest
from loguru import logger
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

from omni_mcp.audit.calls import CallAuditor
from omni_mcp.audit.models import CallLog
from omni_mcp.config.invalidation import ChangeBroadcast
from omni_mcp.context import Actor
from omni_mcp.db import migrate
from omni_mcp.ratelimit.buckets import Limit
from omni_mcp.ratelimit.limiter import Limits, RateLimiter
from omni_mcp.tenancy.models import Organization
from omni_mcp.testing import free_port
from tests.private_servers import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.scaleout import HAPROXY, Backend, haproxy_cluster, modern_post
from tests.test_multiprocess import base_env

pytestmark = pytest.mark.anyio
GRACE_SECONDS = 10  # uvicorn's graceful shutdown timeout in `omni-mcp serve`


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


async def test_a_refused_batch_going_back_into_a_full_queue_counts_what_it_pushes_out() -> None:
    # Nothing listens there: every write is refused, as by a database that is down.
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres")
    auditor = CallAuditor(engine, batch_size=10, max_pending=10)

    def record(count: int) -> None:
        for _ in range(count):
            auditor.record(
                organization_id=1, actor="user:u", kind="tool", name="t", outcome="ok", duration_ms=1
            )

    record(10)
    async with anyio.create_task_group() as group:
        group.start_soon(auditor.flush)
        await anyio.lowlevel.checkpoint()  # the flush took its batch and waits for the refused write
        record(10)  # calls go on meanwhile and fill the queue again
    # Every record is either still queued or counted as dropped (before: 10 vanished uncounted).
    assert auditor.pending + auditor.dropped == 20
    assert (auditor.pending, auditor.dropped) == (10, 10)
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


class Load:
    """Calls a tool over and over from a thread (raw 2026-07-28 requests), noting each answer's outcome."""

    def __init__(self, url: str, tool: str = "test_simple_text", fresh_connections: bool = False) -> None:
        self.url = url
        self.tool = tool
        # A new connection per call: a refused connection then surely means the call never started.
        self.headers = {"connection": "close"} if fresh_connections else {}
        self.outcomes: list[tuple[float, str]] = []
        """(when the answer came, what it was)"""
        self.spans: list[tuple[float, float, str]] = []
        """(when the call was sent, when its answer came, what it was)"""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(timeout=30, headers=self.headers) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                outcome = self._call(client)
                answered = time.monotonic()
                self.spans.append((sent, answered, outcome))
                self.outcomes.append((answered, outcome))

    def _call(self, client: httpx.Client) -> str:
        try:
            answer = modern_post(client, self.url, "tools/call", {"name": self.tool, "arguments": {}})
        except httpx.TransportError as error:
            return f"transport {type(error).__name__}: {error}"[:120]
        if answer.status_code != 200:
            return f"http {answer.status_code}"
        body = answer.json()
        if "error" in body:
            return f"rpc {body['error']['code']}"
        return "tool_error" if body["result"].get("isError") else "ok"

    def count(self, outcome: str = "ok", since: float = 0.0) -> int:
        return sum(1 for at, seen in list(self.outcomes) if seen == outcome and at >= since)

    def wait_for(
        self, outcome: str = "ok", count: int = 1, since: float = 0.0, timeout: float = 120
    ) -> float:
        """Until `count` answers of `outcome` arrived after `since`; returns when the first of them did."""
        deadline = time.monotonic() + timeout
        while self.count(outcome, since) < count:
            assert self._thread.is_alive(), "the load stopped"
            assert time.monotonic() < deadline, f"no {count} x {outcome} since; saw {self.summary(since)}"
            time.sleep(0.02)
        return next(at for at, seen in list(self.outcomes) if seen == outcome and at >= since)

    def summary(self, since: float = 0.0, until: float = float("inf")) -> dict[str, int]:
        return dict(Counter(seen for at, seen in list(self.outcomes) if since <= at < until))


def serving_env(database_url: str, **extra: str) -> dict[str, str]:
    env = base_env(database_url)
    # Rate limits off: the load here is one caller far over any sensible limit.
    env.update(OMNI_MCP_PLUGINS__ALLOW='["conformance"]', OMNI_MCP_RATE_LIMIT__ENABLED="false", **extra)
    return env


def ok_call_records(url: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            query = select(func.count()).select_from(CallLog).where(CallLog.outcome == "ok")  # type: ignore[arg-type]
            return int(session.exec(query).one()[0])  # type: ignore[call-overload]
    finally:
        engine.dispose()


def wait_for_audit(url: str, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (written := ok_call_records(url)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return written


async def test_postgres_restarted_under_load(postgres: PrivatePostgres) -> None:
    # A short cache TTL, so calls during the outage do need the database (else they would all succeed).
    env = serving_env(postgres.url, OMNI_MCP_CACHE__TTL_SECONDS="0.3", OMNI_MCP_AUDIT__FLUSH_SECONDS="0.2")
    backend = Backend("omni1", free_port(), env)
    backend.start()
    try:
        backend.wait_healthy()
        with Load(backend.base + "/mcp") as load:
            load.wait_for("ok", 20)
            postgres.stop()
            stopped = time.monotonic()
            load.wait_for("http 503", 10, since=stopped)  # the outage is seen, and said clearly
            postgres.start()
            back = time.monotonic()
            recovered = load.wait_for("ok", 20, since=back)
        outage = load.summary(stopped, recovered)
        successes = load.count("ok")
        written = wait_for_audit(postgres.url, successes)
        print(f"\nPostgreSQL restart: answers during the outage {outage}")
        print(f"  recovered {recovered - back:.2f} s after it was back; all answers {load.summary()}")
        print(f"  audit records {written} for {successes} successful calls")
        assert set(load.summary()) <= {"ok", "http 503"}, "only successes and clear 503s"
        assert written == successes
    finally:
        output = backend.stop()
    assert "Traceback" not in output, output


async def test_sigterm_lets_calls_in_flight_finish_and_flushes_the_audit(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'omni.db'}"
    backend = Backend("omni1", free_port(), serving_env(database, OMNI_MCP_AUDIT__FLUSH_SECONDS="30"))
    backend.start()
    backend.wait_healthy()
    loads = [Load(backend.base + "/mcp", "test_tool_with_progress", fresh_connections=True) for _ in range(4)]
    for load in loads:
        load.__enter__()
    try:
        loads[0].wait_for("ok", 10)
        assert backend.process is not None
        process = backend.process
        process.send_signal(signal.SIGTERM)
        terminated = time.monotonic()
        process.wait(timeout=GRACE_SECONDS + 10)
        exited = time.monotonic() - terminated
    finally:
        for load in loads:
            load.__exit__()
    output = backend.stop()
    spans = [span for load in loads for span in load.spans]
    in_flight = [outcome for sent, answered, outcome in spans if sent < terminated < answered]
    refused_after = Counter(o for sent, _, o in spans if sent >= terminated)
    successes = sum(1 for _, _, outcome in spans if outcome == "ok")
    written = ok_call_records(database)
    print(f"\nSIGTERM: {len(in_flight)} calls in flight ended as {dict(Counter(in_flight))}")
    print(f"  exit after {exited:.2f} s; calls sent after it: {dict(refused_after)}")
    print(f"  audit records {written} for {successes} successful calls")
    # uvicorn re-raises the signal once it has shut down cleanly (systemd counts that as a clean stop).
    assert process.returncode in (0, -signal.SIGTERM), output
    assert exited < GRACE_SECONDS
    assert in_flight and set(in_flight) == {"ok"}, "every call in flight finishes"
    assert all(o == "ok" or o.startswith("transport ConnectError") for o in refused_after), (
        "refused, never cut"
    )
    # The audit was flushed on the way out (its timer, 30 s, never fired).
    assert written == successes
    assert "Traceback" not in output, output


async def test_sigkill_of_one_process_behind_haproxy_costs_clients_nothing(postgres: PrivatePostgres) -> None:
    if HAPROXY is None:
        pytest.skip("needs HAProxy (Debian package haproxy); CI installs it")
    with haproxy_cluster(serving_env(postgres.url, OMNI_MCP_AUDIT__FLUSH_SECONDS="0.1")) as cluster:
        loads = [Load(cluster.mcp_url) for _ in range(3)]
        for load in loads:
            load.__enter__()
        try:
            loads[0].wait_for("ok", 20)
            victim = cluster.backends[1]
            assert victim.process is not None
            victim.process.kill()
            victim.process.wait(timeout=30)
            killed = time.monotonic()  # it is gone: every call sent from now on reaches the others
            # Long enough for HAProxy's checks (every second, two failures) to take it out, and beyond.
            for load in loads:
                load.wait_for("ok", 150, since=killed)
        finally:
            for load in loads:
                load.__exit__()
        spans = [span for load in loads for span in load.spans]
        successes = sum(1 for _, _, outcome in spans if outcome == "ok")
    sent_after = Counter(outcome for sent, _, outcome in spans if sent >= killed)
    cut = [outcome for sent, _, outcome in spans if outcome != "ok" and sent < killed]
    written = wait_for_audit(postgres.url, successes, timeout=10)
    print(f"\nSIGKILL behind HAProxy: calls sent after the kill {dict(sent_after)}")
    print(f"  calls cut: {cut} (in flight on the killed process when it died)")
    print(f"  audit records {written} for {successes} successful calls (the killed process's last unflushed")
    print("  records, at most audit.flush_seconds' worth, die with it)")
    assert set(sent_after) == {"ok"}, "no client saw an error once the process was gone"
    assert len(cut) <= len(loads), "only calls in flight on the killed process (one per client at most)"


async def test_invalidation_falls_back_while_redis_is_away_and_resyncs_when_it_returns(
    own_redis: PrivateRedis, log_lines: list[str]
) -> None:
    engine = create_engine("sqlite://")  # no NOTIFY: Redis alone carries changes between processes
    broadcast = ChangeBroadcast(engine, own_redis.url)
    heard: list[tuple[float, str]] = []
    news = [anyio.Event()]

    async def on_change(slug: str) -> None:
        heard.append((time.monotonic(), slug))
        news[0].set()
        news[0] = anyio.Event()

    async def wait_until(condition: Callable[[], bool], what: str) -> None:
        with anyio.fail_after(30):
            while not condition():
                await news[0].wait()
        assert condition(), what

    async with anyio.create_task_group() as group:
        group.start_soon(broadcast.listen, on_change)
        other = ChangeBroadcast(engine, own_redis.url)  # another process, announcing a change
        while not heard:
            other.published("acme")
            await anyio.sleep(0.05)
        assert heard[0][1] == "acme"
        own_redis.stop()
        stopped = time.monotonic()
        # Away: every cached configuration is dropped (each reconnection attempt), so TTLs do not decide.
        await wait_until(lambda: any(at > stopped and slug == "*" for at, slug in heard), "dropped")
        assert sum("lost its connection" in line for line in log_lines) == 1
        own_redis.start()
        back = time.monotonic()
        # Back: one more drop once subscribed again, for the changes missed in between.
        await wait_until(lambda: any("listener is back" in line for line in log_lines), "resynced")
        resync = [at for at, slug in heard if at > back and slug == "*"]
        print(f"\nRedis restart: invalidation resynced {resync[0] - back:.2f} s after Redis was back")
        heard.clear()
        other.published("globex")
        await wait_until(lambda: "globex" in {slug for _, slug in heard}, "shared again")
        group.cancel_scope.cancel()
    engine.dispose()
