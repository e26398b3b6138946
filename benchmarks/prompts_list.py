"""Load test: 2026-07-28 `prompts/list` through the gateway, 1,000 organizations x 50 prompts on PostgreSQL.

    python benchmarks/prompts_list.py --duration 10 --connections 32

Creates a fresh PostgreSQL database (omni_bench_<random>, always dropped at the end), migrates it and
fills it with the organizations and their prompts, then measures, with wrk, `prompts/list` for a random
organization per request in two modes of the same run:

- cached: default cache settings; every organization's configuration is loaded once before the
  measured run, so it is (nearly) all cache hits;
- uncached: the server restarted with `cache.max_organizations=1`, so a request for a random
  organization almost always misses and loads that organization's configuration from the database;

and, last, the cost of one miss measured directly: `load_org_config` called in this process for random
organizations against the same database. Prints a table and, last, a one-line summary. Exits 1 if any
request failed (the run is then invalid), 2 if wrk, PostgreSQL or the server is missing or broken.
See benchmarks/PROMPTS_LIST.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, cast

import anyio
import gc_tools
import httpx
import profile_summary
from cryptography.fernet import Fernet
from gateway_vs_bare import (
    CLIENT_INFO,
    INSTALL_WRK,
    MODERN_VERSION,
    BenchmarkError,
    Server,
    drive_wrk,
    environment_line,
    free_port,
    gc_line,
    parse_answer,
    stop_server,
    uvicorn_command,
    wait_ready,
)
from prompts_list_app import (
    CACHE_STATS_PATH,
    DEFAULT_PROMPT_PREFIX,
    DEFAULT_PROMPTS,
    GC_THRESHOLD_ENV,
    ORGANIZATION_HEADER,
    PLUGIN_NAME,
    SETTINGS_ENV,
    BenchPlugin,
)
from sqlalchemy import Engine, Table, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from omni_mcp.config.effective import OrgConfig, load_org_config
from omni_mcp.config.models import OrganizationPrompt
from omni_mcp.db import migrate
from omni_mcp.db.engine import create_db_engine
from omni_mcp.observability.logging import configure_logging
from omni_mcp.plugins import get_plugin_manager
from omni_mcp.runtime import Runtime
from omni_mcp.settings import CacheSettings, Settings
from omni_mcp.tenancy.models import Organization

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "prompts_list.lua"
FACTORY = "prompts_list_app:create_app"
ACCEPT = "application/json, text/event-stream"
ORG_SLUG_PREFIX = (
    "bench-org-"  # organization i (1-based) is bench-org-<i>; its prompts bench-org-<i>-prompt-<j>
)
NOISY_OTHER_CPU = 0.15  # cores' worth of CPU used by unrelated processes above which a run is called noisy
INSERT_BATCH = 5000
INSTALL_POSTGRES = (
    "PostgreSQL is needed: the benchmark creates (and drops) a database omni_bench_<random> on it.\n"
    "  Point --database-url at a server and a user allowed to CREATE DATABASE, e.g.\n"
    "    --database-url postgresql://postgres@127.0.0.1:5432/postgres\n"
    "  A throwaway server: docker run --rm -d -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust "
    "postgres:16\n"
    "  Debian/Ubuntu: sudo apt-get install -y postgresql && sudo service postgresql start"
)


def org_slug(index: int) -> str:
    return f"{ORG_SLUG_PREFIX}{index}"


def prompt_name(index: int, number: int) -> str:
    return f"{org_slug(index)}-prompt-{number}"


# --- the database ------------------------------------------------------------------------------------


def server_engine(database_url: str) -> Engine:
    """An AUTOCOMMIT engine on the server's maintenance database (CREATE / DROP DATABASE)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BenchmarkError(f"--database-url must be a PostgreSQL URL, not {url.drivername}")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, as omni-mcp itself uses
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def check_postgres(admin: Engine) -> str:
    try:
        with admin.connect() as connection:
            version = str(connection.execute(text("SHOW server_version")).scalar_one())
    except SQLAlchemyError as error:
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or ["?"])[0]
        raise BenchmarkError(
            f"cannot reach PostgreSQL at {admin.url.render_as_string(hide_password=True)}: {reason}\n"
            + INSTALL_POSTGRES
        ) from None
    return version


@contextlib.contextmanager
def bench_database(admin: Engine) -> Iterator[str]:
    """A new database omni_bench_<random>, dropped afterwards whatever happens (even if it is in use)."""
    name = f"omni_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        raise BenchmarkError(
            f"could not create database {name}: {str(getattr(error, 'orig', error)).strip()}\n"
            "the user of --database-url needs the CREATEDB privilege"
        ) from None
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped database {name}")
        except SQLAlchemyError as error:
            print(f"warning: could not drop database {name}: {error}; drop it by hand", file=sys.stderr)


@dataclasses.dataclass
class SetupTimes:
    migrate_s: float
    insert_s: float
    analyze_s: float

    @property
    def total_s(self) -> float:
        return self.migrate_s + self.insert_s + self.analyze_s


def populate(engine: Engine, organizations: int, prompts: int) -> SetupTimes:
    """Migrate, then bulk-insert the organizations and their prompts (SQLAlchemy core, batched)."""
    started = time.perf_counter()
    migrate.upgrade(engine)
    migrated = time.perf_counter()
    now = datetime.now(UTC)
    org_table = cast(Table, getattr(Organization, "__table__"))  # noqa: B009 (SQLModel hides it from mypy)
    prompt_table = cast(Table, getattr(OrganizationPrompt, "__table__"))  # noqa: B009
    with engine.begin() as connection:
        connection.execute(
            insert(org_table),
            [
                {
                    "slug": org_slug(index),
                    "name": f"Benchmark organization {index}",
                    "audit_arguments": False,
                    "created_at": now,
                }
                for index in range(1, organizations + 1)
            ],
        )
        ids = {slug: id_ for slug, id_ in connection.execute(select(org_table.c.slug, org_table.c.id))}
        rows = (
            {
                "organization_id": ids[org_slug(index)],
                "name": prompt_name(index, number),
                "hidden": False,
                "title": f"Prompt {number} of organization {index}",
                "description": f"Benchmark prompt {number} of {org_slug(index)}",
                "arguments": [{"name": "topic", "description": "what to write about", "required": True}],
                "template": f"Write note {number} for {org_slug(index)} about {{topic}}.",
                "updated_at": now,
            }
            for index in range(1, organizations + 1)
            for number in range(1, prompts + 1)
        )
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == INSERT_BATCH:
                connection.execute(insert(prompt_table), batch)
                batch = []
        if batch:
            connection.execute(insert(prompt_table), batch)
    inserted = time.perf_counter()
    # Planner statistics, as a database that has lived a while has them (autovacuum may not have run yet).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    return SetupTimes(migrated - started, inserted - migrated, time.perf_counter() - inserted)


def settings_data(database_url: str, key: str, cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """The gateway's settings: everything at its default except what a benchmark must fix."""
    data: dict[str, Any] = {
        "database": {"url": database_url, "auto_migrate": False},  # migrated by the benchmark
        "plugins": {"allow": []},  # no entry-point plugins: only the core and the benchmark plugin
        "security": {"encryption_keys": [key]},  # a throwaway key: no key file in the user's data dir
        "rate_limit": {"enabled": False},
        "logging": {"level": "WARNING"},
    }
    if cache:
        data["cache"] = cache
    return data


# --- requests ----------------------------------------------------------------------------------------


def prompts_list_body(request_id: str) -> dict[str, Any]:
    """A 2026-07-28 prompts/list: the per-request envelope travels in params._meta (no session)."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "prompts/list",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
            }
        },
    }


REQUEST_HEADERS = {
    "Content-Type": "application/json",
    "Accept": ACCEPT,
    "MCP-Protocol-Version": MODERN_VERSION,
    "Mcp-Method": "prompts/list",
}


def list_prompts(client: httpx.Client, server: Server, index: int, number: int = 0) -> httpx.Response:
    headers = REQUEST_HEADERS | {ORGANIZATION_HEADER: org_slug(index)}
    return client.post(server.url, json=prompts_list_body(f"{index}-0-{number}"), headers=headers)


def check_listing(response: httpx.Response, index: int, prompts: int) -> None:
    """Raise unless the answer is exactly organization `index`'s listing: its prompts and the defaults.

    Also checks the wire text the way the wrk script does (counting `"name":"...` fragments), so a
    serialization change cannot make the Lua check pass or fail for the wrong reason.
    """
    what = f"prompts/list for {org_slug(index)}"
    if response.status_code != 200:
        raise BenchmarkError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    answer = parse_answer(response)
    result = answer.get("result")
    if "error" in answer or not isinstance(result, dict):
        raise BenchmarkError(f"{what} did not succeed: {json.dumps(answer)[:300]}")
    listed = result.get("prompts") or []
    own = {prompt_name(index, number) for number in range(1, prompts + 1)}
    defaults = {f"{DEFAULT_PROMPT_PREFIX}{number}" for number in range(1, DEFAULT_PROMPTS + 1)}
    names = [prompt.get("name") for prompt in listed]
    if sorted(names) != sorted(own | defaults) or result.get("nextCursor"):
        raise BenchmarkError(
            f"{what}: expected its {prompts} prompts and {DEFAULT_PROMPTS} defaults on one page, got "
            f"{len(names)} (e.g. {names[:3]}), nextCursor {result.get('nextCursor')!r}"
        )
    for prompt in listed:
        arguments = prompt.get("arguments") or []
        if len(arguments) != 1 or not arguments[0].get("required"):
            raise BenchmarkError(f"{what}: prompt {prompt.get('name')} has arguments {arguments}")
    raw = response.text
    wire_own = raw.count(f'"name":"{org_slug(index)}-prompt-')
    wire_defaults = raw.count(f'"name":"{DEFAULT_PROMPT_PREFIX}')
    if wire_own != prompts or wire_defaults != DEFAULT_PROMPTS or '"error":' in raw:
        raise BenchmarkError(f"{what}: the wire text does not match what the wrk script checks: {raw[:300]}")


def cache_stats(client: httpx.Client, server: Server) -> dict[str, int]:
    response = client.get(f"http://127.0.0.1:{server.port}{CACHE_STATS_PATH}")
    response.raise_for_status()
    stats: dict[str, int] = response.json()
    return stats


def warm_every_organization(client: httpx.Client, server: Server, args: argparse.Namespace) -> float:
    """Request (and check) each organization once, in a random order, 8 at a time; returns the seconds."""
    order = list(range(1, args.organizations + 1))
    random.Random(args.seed).shuffle(order)
    started = time.perf_counter()

    def one(index: int) -> None:
        check_listing(list_prompts(client, server, index), index, args.prompts)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in pool.map(one, order):
            pass
    return time.perf_counter() - started


# --- the server --------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(
    mode: str, data: dict[str, Any], workdir: Path, args: argparse.Namespace
) -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ)
    env[SETTINGS_ENV] = json.dumps(data)
    env[gc_tools.STATS_ENV] = "1"
    env.pop(gc_tools.FREEZE_ENV, None)  # server.freeze_gc (default on) is what freezes here
    env.pop(GC_THRESHOLD_ENV, None)
    if args.gc_threshold:
        env[GC_THRESHOLD_ENV] = args.gc_threshold
    log_path = workdir / f"{mode}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            uvicorn_command(FACTORY, port, args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    server = Server(mode, port, process, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        stop_server(server)


def postgres_cpu_seconds() -> float | None:
    """CPU seconds of every PostgreSQL process on this machine, exited backends included (Linux /proc).

    Backends and the postmaster are all named `postgres`; a backend that exited (an overflow connection
    closed by the pool) is accounted in its parent's cutime/cstime. None when no PostgreSQL runs here.
    """
    total, found = 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.find("(") + 1 : stat.rfind(")")] != "postgres":
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


# --- wrk ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Measurement:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    bad: int
    bad_sample: str
    elapsed_s: float
    server_cpu_s: float | None
    wrk_cpu_s: float
    postgres_cpu_s: float | None  # every PostgreSQL process on the machine (other databases too)
    other_cpu_s: float | None
    latency_distribution: str

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def failures(self) -> int:
        return sum(self.errors.values()) + self.bad


def wrk_command(server: Server, duration: float, args: argparse.Namespace) -> list[str]:
    body = json.dumps(prompts_list_body("__ID__"), separators=(",", ":"))
    script_args = [
        f"body={body}",
        *(f"header={name}: {value}" for name, value in REQUEST_HEADERS.items()),
        f"org_header={ORGANIZATION_HEADER}",
        f"org_slug={ORG_SLUG_PREFIX}",
        f"organizations={args.organizations}",
        f"prompts={args.prompts}",
        f"defaults={DEFAULT_PROMPTS}",
        f"default_prefix={DEFAULT_PROMPT_PREFIX}",
        f"seed={args.seed}",
    ]
    return [
        args.wrk,
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={args.request_timeout}s",
        "--latency",
        f"--script={LUA_SCRIPT}",
        server.url,
        "--",
        *script_args,
    ]


def run_wrk(server: Server, duration: float, args: argparse.Namespace) -> Measurement:
    postgres_before = postgres_cpu_seconds()
    run = drive_wrk(wrk_command(server, duration, args), server.process.pid, duration)
    postgres_after = postgres_cpu_seconds()
    postgres_cpu = (
        None if postgres_before is None or postgres_after is None else postgres_after - postgres_before
    )
    latency = run.latency
    return Measurement(
        requests=run.result["requests"],
        duration_s=run.result["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=latency["mean"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=run.errors,
        bad=run.bad,
        bad_sample=run.bad_sample,
        elapsed_s=run.elapsed_s,
        server_cpu_s=run.server_cpu_s,
        wrk_cpu_s=run.wrk_cpu_s,
        postgres_cpu_s=postgres_cpu,
        other_cpu_s=run.other_cpu(postgres_cpu),
        latency_distribution=_latency_distribution(run.lines),
    )


def _latency_distribution(lines: list[str]) -> str:
    """wrk --latency's own percentile lines, as one line (e.g. `50% 6.10ms 75% 7.02ms ...`)."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("Latency Distribution"))
    except StopIteration:
        return ""
    return "  ".join(" ".join(line.split()) for line in lines[start + 1 : start + 5])


# --- the modes ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class ModeResult:
    mode: str
    cache: str
    measurement: Measurement
    counters: dict[str, int]  # during the measured run: cache hits/misses, the engine's connects...
    warm_s: float | None
    gc: str

    @property
    def hits(self) -> int:
        return self.counters["hits"]

    @property
    def misses(self) -> int:
        return self.counters["misses"]

    @property
    def hit_share(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


def run_mode(
    mode: str, data: dict[str, Any], workdir: Path, args: argparse.Namespace, rng: random.Random
) -> ModeResult:
    cache = CacheSettings.model_validate(data.get("cache", {}))
    described = f"ttl {cache.ttl_seconds:g}s, max_organizations {cache.max_organizations}"
    warm_s: float | None = None
    with running_server(mode, data, workdir, args) as server:
        print(f"{mode}: server {server.url} (pid {server.process.pid}), cache {described}", flush=True)
        with httpx.Client(timeout=30.0, limits=httpx.Limits(max_connections=8)) as client:
            index = rng.randint(1, args.organizations)
            check_listing(list_prompts(client, server, index), index, args.prompts)
            print(
                f"{mode}: checked one real request: {org_slug(index)} lists its {args.prompts} prompts "
                f"(1 argument each) and the {DEFAULT_PROMPTS} plugin defaults",
                flush=True,
            )
            warm_started = time.monotonic()
            if args.warmup > 0:
                warm = run_wrk(server, args.warmup, args)
                if warm.failures:
                    raise BenchmarkError(
                        f"{mode} warm-up had {warm.failures} failed requests ({warm.errors or ''} "
                        f"{warm.bad_sample})"
                    )
            if mode == "cached":
                warm_s = warm_every_organization(client, server, args)
                print(
                    f"{mode}: loaded every organization's configuration: {args.organizations} requests, "
                    f"each answer checked, in {warm_s:.1f} s",
                    flush=True,
                )
                if time.monotonic() - warm_started + args.duration > cache.ttl_seconds:
                    print(
                        f"{mode}: note: warm-up plus --duration exceed cache.ttl_seconds "
                        f"({cache.ttl_seconds:g}s): entries will expire during the run (see misses)"
                    )
            before = cache_stats(client, server)
            measurement = run_wrk(server, args.duration, args)
            after = cache_stats(client, server)
            if args.profile is not None:
                if mode == "cached":  # entries loaded before the measured run may have expired by now
                    warm_every_organization(client, server, args)
                profile(server, mode, args)
        if server.process.poll() is not None:
            raise BenchmarkError(f"{mode} server died during the run:\n{server.log_tail()}")
    counters = {key: after[key] - before[key] for key in after}
    counters["gc_longest_full_collection_us"] = after["gc_longest_full_collection_us"]  # since `before`
    hits, misses = counters["hits"], counters["misses"]
    result = ModeResult(mode, described, measurement, counters, warm_s, gc_line(server))
    note = f"  FAILED {measurement.failures}: {measurement.errors} {measurement.bad_sample}"
    print(
        f"{mode}: {measurement.rps:.1f} req/s, p50 {measurement.p50_ms:.2f} ms, "
        f"p99 {measurement.p99_ms:.2f} ms, "
        f"cache {hits} hits / {misses} misses during the run" + (note if measurement.failures else ""),
        flush=True,
    )
    print(f"{mode}: wrk --latency: {measurement.latency_distribution}", flush=True)
    print(f"{mode}: database during the run: {database_line(counters)}", flush=True)
    print(f"{mode}: garbage collector during the run: {gc_run_line(counters, measurement)}", flush=True)
    return result


def gc_run_line(counters: dict[str, int], measurement: Measurement) -> str:
    full, paused_ms = counters["gc_full_collections"], counters["gc_full_collection_us"] / 1000
    share = paused_ms / 1000 / measurement.duration_s if measurement.duration_s else 0.0
    return (
        f"{full} full collections, {paused_ms / max(full, 1):.0f} ms each, the event loop stopped "
        f"{paused_ms:.0f} ms in all ({share:.0%} of the run), longest "
        f"{counters['gc_longest_full_collection_us'] / 1000:.0f} ms"
    )


def database_line(counters: dict[str, int]) -> str:
    misses = counters["misses"]

    def per_miss(key: str) -> str:
        return f" ({counters[key] / misses:.1f} per miss)" if misses else ""

    return (
        f"{counters['db_statements']} SQL statements{per_miss('db_statements')}, "
        f"{counters['db_checkouts']} pool check-outs{per_miss('db_checkouts')}, each with a pre-ping "
        f"round trip, {counters['db_connects']} new connections{per_miss('db_connects')}"
    )


def profile(server: Server, mode: str, args: argparse.Namespace) -> None:
    """One extra, unmeasured wrk pass with py-spy sampling the server (collapsed stacks)."""
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise BenchmarkError("--profile needs py-spy: pip install py-spy (and ptrace rights on the server)")
    args.profile.mkdir(parents=True, exist_ok=True)
    output = args.profile / f"prompts-list-{mode}.txt"
    duration = max(1, round(args.duration))
    command = [py_spy, "record", "--pid", str(server.process.pid), "--rate", "200", "--nonblocking"]
    command += ["--duration", str(duration), "--format", "raw", "--output", str(output)]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # let py-spy attach before the load starts
    measurement = run_wrk(server, duration, args)
    try:
        _, errors = sampler.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()
        raise BenchmarkError("py-spy did not finish") from None
    if sampler.returncode != 0 or not output.exists():
        raise BenchmarkError(f"py-spy failed (exit {sampler.returncode}): {errors.strip()}")
    print(f"{mode}: profiled at {measurement.rps:.0f} req/s -> {output}")
    print(profile_summary.summarize(output, top=20))


# --- the cost of a miss ------------------------------------------------------------------------------


@dataclasses.dataclass
class MissCost:
    samples_ms: list[float]
    cpu_ms: float  # mean CPU time of this process per call: the rest of the wall time is waiting

    def percentile(self, share: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.samples_ms)


def direct_loader(settings: Settings, engine: Engine) -> Callable[[str], OrgConfig]:
    """What the cache calls on a miss (Runtime.load_org_config), built as the server builds it:
    same settings, plugins and capabilities, and an engine from create_db_engine like the server's."""
    host = get_plugin_manager(settings.plugins, extra_plugins=[(PLUGIN_NAME, BenchPlugin())])
    runtime = Runtime(settings, host, engine)
    anyio.run(runtime.prepare)
    capabilities, box = runtime.capabilities, runtime.secrets

    def load(slug: str) -> OrgConfig:
        return load_org_config(engine, slug, capabilities, box, enabled_by_default=True)

    return load


def measure_miss_cost(
    load: Callable[[str], OrgConfig], args: argparse.Namespace, rng: random.Random
) -> MissCost:
    """The cost of one miss, timed here: load_org_config for random organizations, one at a time.

    In this process, without an event loop or concurrent requests: the database round trips plus
    building the configuration and its listings, nothing of HTTP, the cache or thread hand-offs.
    """
    expected = args.prompts + DEFAULT_PROMPTS
    for _ in range(min(20, args.misses)):  # the pool's connections, SQLAlchemy's statement cache
        load(org_slug(rng.randint(1, args.organizations)))
    samples = []
    cpu_started = time.process_time()
    for _ in range(args.misses):
        slug = org_slug(rng.randint(1, args.organizations))
        started = time.perf_counter()
        config = load(slug)
        samples.append((time.perf_counter() - started) * 1000)
        if len(config.listings.prompts) != expected:
            raise BenchmarkError(f"load_org_config({slug}) listed {len(config.listings.prompts)} prompts")
    return MissCost(samples, (time.process_time() - cpu_started) * 1000 / args.misses)


@dataclasses.dataclass
class CacheHeap:
    organizations: int
    tracked_objects: int  # what holding every organization's OrgConfig adds to the collector's work
    full_collection_ms: float  # gc.collect() with them held (median of 3)
    baseline_collection_ms: float  # and without them

    @property
    def per_organization(self) -> float:
        return self.tracked_objects / self.organizations if self.organizations else 0.0


def measure_cache_heap(load: Callable[[str], OrgConfig], args: argparse.Namespace) -> CacheHeap:
    """What a full cache weighs on the garbage collector: every organization's OrgConfig held at once
    (as the cached server holds them), the objects the collector tracks, and a full collection's time."""

    def collection_ms() -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            gc.collect()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    gc.collect()
    before = len(gc.get_objects())
    held = [load(org_slug(index)) for index in range(1, args.organizations + 1)]
    gc.collect()
    tracked = len(gc.get_objects()) - before
    with_configs = collection_ms()
    held.clear()
    without = collection_ms()
    return CacheHeap(args.organizations, tracked, with_configs, without)


# --- report ------------------------------------------------------------------------------------------


def _share(seconds: float | None, elapsed: float) -> str:
    return "n/a" if seconds is None or not elapsed else f"{seconds / elapsed * 100:.0f}%"


def print_table(results: list[ModeResult], miss: MissCost, heap: CacheHeap, args: argparse.Namespace) -> None:
    header = (
        f"{'mode':<9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'mean ms':>7} {'max ms':>7} "
        f"{'CPU us/req':>10} {'server':>6} {'pg':>4} {'wrk':>4} {'others':>6} {'hits':>7} {'misses':>7} "
        f"{'hit %':>6} {'failed':>6}  cache"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        m = result.measurement
        per_request = (
            "n/a" if m.server_cpu_s is None or not m.requests else f"{m.server_cpu_s * 1e6 / m.requests:.0f}"
        )
        print(
            f"{result.mode:<9} {m.rps:>8.1f} {m.p50_ms:>7.2f} {m.p90_ms:>7.2f} {m.p99_ms:>7.2f} "
            f"{m.mean_ms:>7.2f} {m.max_ms:>7.1f} {per_request:>10} {_share(m.server_cpu_s, m.elapsed_s):>6} "
            f"{_share(m.postgres_cpu_s, m.elapsed_s):>4} {_share(m.wrk_cpu_s, m.elapsed_s):>4} "
            f"{_share(m.other_cpu_s, m.elapsed_s):>6} "
            f"{result.hits:>7} {result.misses:>7} {result.hit_share * 100:>6.1f} {m.failures:>6}  "
            f"{result.cache}"
        )
    print(
        f"{'miss':<9} {'':>8} {miss.percentile(0.5):>7.2f} {miss.percentile(0.9):>7.2f} "
        f"{miss.percentile(0.99):>7.2f} {miss.mean_ms:>7.2f} {max(miss.samples_ms):>7.1f} "
        f"{miss.cpu_ms * 1000:>10.0f}  load_org_config() x{len(miss.samples_ms)}, random orgs, "
        "in the benchmark process, one at a time"
    )
    print(
        f"req/s, latency: wrk, {args.connections} connections, {args.duration:g}s, a random organization "
        "per request. CPU us/req: gateway CPU per request (miss: this process's CPU per call). "
        "server / pg / wrk / others: CPU in % of one core during the run, of the gateway, of PostgreSQL "
        "(all its databases), of wrk, of every other process (noise). hits / misses: the org-configuration "
        "cache during the run."
    )
    print()
    for result in results:
        print(f"{result.mode} database: {database_line(result.counters)}")
    for result in results:
        print(f"{result.mode} gc during the run: {gc_run_line(result.counters, result.measurement)}")
    for result in results:
        print(result.gc.replace("gc ", "gc over the server's life, ", 1))
    print(f"cache heap: {heap_line(heap)}")


def heap_line(heap: CacheHeap) -> str:
    return (
        f"{heap.organizations} cached org configurations hold {heap.tracked_objects} GC-tracked objects "
        f"({heap.per_organization:.0f} per organization); a full collection takes "
        f"{heap.full_collection_ms:.0f} ms with them, {heap.baseline_collection_ms:.0f} ms without"
    )


def summary_line(results: list[ModeResult], miss: MissCost, args: argparse.Namespace, failures: int) -> str:
    by_mode = {result.mode: result for result in results}
    parts = []
    for mode in ("cached", "uncached"):
        m = by_mode[mode].measurement
        parts.append(
            f"{mode} {m.rps:.0f} rps p50 {m.p50_ms:.1f} ms p99 {m.p99_ms:.1f} ms "
            f"({by_mode[mode].hit_share * 100:.1f}% hits)"
        )
    difference = by_mode["uncached"].measurement.p50_ms - by_mode["cached"].measurement.p50_ms
    validity = "valid, 0 failed requests" if not failures else f"INVALID: {failures} failed requests"
    return (
        f"summary: prompts/list {args.organizations} orgs x {args.prompts} prompts on PostgreSQL: "
        f"{'; '.join(parts)}; miss (load_org_config) p50 {miss.percentile(0.5):.1f} ms "
        f"p99 {miss.percentile(0.99):.1f} ms mean {miss.mean_ms:.1f} ms; "
        f"uncached-cached p50 {difference:+.1f} ms; {validity}"
    )


# --- the run -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--organizations", type=int, default=1000, help="organizations (default 1000)")
    parser.add_argument("--prompts", type=int, default=50, help="prompts of each organization (default 50)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per mode (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of wrk warm-up per mode (default 2)"
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server and a user allowed to CREATE DATABASE (default: %(default)s)",
    )
    parser.add_argument(
        "--misses", type=int, default=500, help="direct load_org_config calls timed (default 500)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the organization sequences")
    parser.add_argument("--request-timeout", type=int, default=10, help="wrk per-request timeout in seconds")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (default auto)")
    parser.add_argument("--http", default="auto", help="uvicorn --http (default auto)")
    parser.add_argument("--wrk", default="wrk", help="the wrk executable (default: wrk on PATH)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="after measuring each mode, profile one more (unmeasured) pass with py-spy into this directory",
    )
    parser.add_argument(
        "--gc-threshold",
        default="",
        metavar="G0,G1,G2",
        help="experiment: gc.set_threshold(G0, G1, G2) in the server (default: Python's, 700,10,10)",
    )
    args = parser.parse_args(argv)
    if args.gc_threshold:
        parts = args.gc_threshold.split(",")
        if not 1 <= len(parts) <= 3 or not all(part.strip().isdigit() for part in parts):
            parser.error("--gc-threshold takes one to three non-negative integers, e.g. 50000,20,10")
    for name in ("organizations", "prompts", "duration", "connections", "threads", "misses"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    if args.threads > args.connections:
        parser.error("--threads cannot exceed --connections")
    if args.prompts + DEFAULT_PROMPTS > 500:
        parser.error("--prompts must stay under the gateway's page size (500 with the defaults)")
    return args


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so every `finally` runs: servers stopped, database dropped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which(args.wrk)
    if wrk is None:
        print(INSTALL_WRK, file=sys.stderr)
        return 2
    args.wrk = wrk
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="omni-mcp-bench-prompts-"))
    admin: Engine | None = None
    try:
        admin = server_engine(args.database_url)
        version = check_postgres(admin)
        print(f"environment: {environment_line(args)}, PostgreSQL {version}")
        print(
            f"load: wrk {args.threads} thread(s), {args.connections} connections, "
            f"{args.duration:g}s per mode (warm-up {args.warmup:g}s), "
            "prompts/list (2026-07-28) for a random organization per request"
            + (f"; experiment: server gc.set_threshold({args.gc_threshold})" if args.gc_threshold else "")
        )
        with bench_database(admin) as database_url:
            key = Fernet.generate_key().decode()
            cached_data = settings_data(database_url, key)
            settings = Settings.model_validate(cached_data)
            configure_logging(settings.logging)  # this process's own omni_mcp calls, at WARNING too
            engine = create_db_engine(settings.database)
            try:
                times = populate(engine, args.organizations, args.prompts)
                name = make_url(database_url).database
                print(
                    f"setup: database {name}: migrations {times.migrate_s:.1f} s, {args.organizations} "
                    f"organizations + {args.organizations * args.prompts} prompts inserted in "
                    f"{times.insert_s:.1f} s, ANALYZE {times.analyze_s:.1f} s; total {times.total_s:.1f} s",
                    flush=True,
                )
                results = [
                    run_mode("cached", cached_data, workdir, args, rng),
                    run_mode(
                        "uncached",
                        settings_data(database_url, key, cache={"max_organizations": 1}),
                        workdir,
                        args,
                        rng,
                    ),
                ]
                load = direct_loader(settings, engine)
                miss = measure_miss_cost(load, args, rng)
                print(
                    f"miss: load_org_config x{len(miss.samples_ms)}: p50 {miss.percentile(0.5):.2f} ms, "
                    f"p99 {miss.percentile(0.99):.2f} ms, mean {miss.mean_ms:.2f} ms "
                    f"({miss.cpu_ms:.2f} ms of it CPU in this process)",
                    flush=True,
                )
                heap = measure_cache_heap(load, args)
                print(f"heap: {heap_line(heap)}", flush=True)
            finally:
                engine.dispose()
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers stopped and database dropped", file=sys.stderr)
        return 130
    finally:
        if admin is not None:
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    failures = sum(result.measurement.failures for result in results)
    print()
    print_table(results, miss, heap, args)
    noisiest = max(
        (
            r.measurement.other_cpu_s / r.measurement.elapsed_s
            for r in results
            if r.measurement.other_cpu_s is not None and r.measurement.elapsed_s
        ),
        default=0.0,
    )
    if noisiest > NOISY_OTHER_CPU:
        print(
            f"\nnote: other processes used up to {noisiest * 100:.0f}% of a core during the runs; "
            "the machine was not quiet, so expect noise (compare CPU us/req, or rerun)"
        )
    if args.json is not None:
        payload = {
            "environment": environment_line(args),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "setup_s": dataclasses.asdict(times),
            "modes": [
                dataclasses.asdict(r) | {"rps": r.measurement.rps, "hit_share": r.hit_share} for r in results
            ],
            "miss_ms": miss.samples_ms,
            "miss_cpu_ms": miss.cpu_ms,
            "cache_heap": dataclasses.asdict(heap),
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if failures:
        print(f"\nthe run had {failures} failed requests; its figures are not valid", file=sys.stderr)
    print(summary_line(results, miss, args, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
