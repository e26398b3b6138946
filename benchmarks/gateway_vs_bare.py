"""Load test: an echo tool called through the full omni-mcp gateway versus the bare `mcp` SDK.

    python benchmarks/gateway_vs_bare.py --duration 10 --connections 32
    python benchmarks/gateway_vs_bare.py --auth --rounds 4     # + the cost of API-key auth and RBAC

With --auth a third server runs: the gateway with local mode off, every request carrying a member API
key (made with the real `omni-mcp apikey create`); the summary then gives what authentication costs.
Starts both servers under uvicorn (same options, one worker each, 127.0.0.1, free ports; the gateway on
a fresh SQLite file), checks that each answers a real tools/call in both protocol eras, warms them up,
then drives each (server, era) case with wrk, interleaved so drift affects both servers alike. Prints a
table and, last, a one-line summary. Exits 1 if any request failed (the run is then invalid), 2 if wrk
or a server is missing or broken. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gc_tools
import httpx
import profile_summary

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "mcp_call.lua"
TOOL = "bench_echo"
LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
ERAS = {"legacy": LEGACY_VERSION, "modern": MODERN_VERSION}
ERA_LABELS = {"legacy": f"legacy {LEGACY_VERSION}", "modern": MODERN_VERSION}
KEYED = "gateway+key"  # the gateway with local mode off: every request carries an API key
TWIN = "gateway-2"  # a second, identical gateway: how far two equal servers differ is the noise floor
FACTORIES = {
    "bare": "bare_server:create_app",
    "gateway": "bench_plugin:create_app",
    KEYED: "bench_plugin:create_app",
    TWIN: "bench_plugin:create_app",
}
# What the keyed gateway adds: no credential-free local mode, so API-key authentication runs per request.
KEYED_SETTINGS = {"auth": {"local_mode": False}}
ACCEPT = "application/json, text/event-stream"
INSTALL_WRK = (
    "wrk (https://github.com/wg/wrk) is needed and was not found on PATH.\n"
    "  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk\n"
    "  macOS:         brew install wrk"
)
NOISY_OTHER_CPU = 0.15  # cores' worth of CPU used by unrelated processes above which a run is called noisy
CLIENT_INFO = {"name": "omni-mcp-benchmark", "version": "1"}


class BenchmarkError(RuntimeError):
    """A server or the load generator is missing or misbehaves: nothing valid can be measured."""


@dataclasses.dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    sessions: list[str] = dataclasses.field(default_factory=list)
    credential: dict[str, str] = dataclasses.field(default_factory=dict)  # sent with every request
    cpu_seconds_at_stop: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclasses.dataclass
class Measurement:
    server: str
    era: str
    round: int
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: dict[str, int]
    bad: int
    bad_sample: str
    elapsed_s: float  # wall time around the wrk process, which the CPU figures below cover
    server_cpu_s: float | None  # CPU seconds the server process used (None off Linux)
    wrk_cpu_s: float  # CPU seconds wrk used
    other_cpu_s: float | None  # CPU seconds every other process on the machine used (None off Linux)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def failures(self) -> int:
        return sum(self.errors.values()) + self.bad


# --- the requests ------------------------------------------------------------------------------------


def tools_call_body(era: str, text: str, request_id: object = "__ID__") -> dict[str, Any]:
    params: dict[str, Any] = {"name": TOOL, "arguments": {"text": text}}
    if era == "modern":
        # 2026-07-28: every request carries its own envelope; no handshake, no session.
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        }
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def request_headers(era: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT, "MCP-Protocol-Version": ERAS[era]}
    if era == "modern":
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": TOOL}
    return headers


def expected_fragments(text: str) -> list[str]:
    return [f'"text":"{text}"', '"isError":false']


def parse_answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a JSON or single-event SSE answer."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        messages = [json.loads(item) for item in data if item]
        if len(messages) != 1:
            raise BenchmarkError(f"expected one SSE message, got {len(messages)}: {response.text[:300]}")
        message: dict[str, Any] = messages[0]
        return message
    parsed: dict[str, Any] = response.json()
    return parsed


def check_call(client: httpx.Client, server: Server, era: str, text: str, session: str | None = None) -> None:
    """One real tools/call; raise unless it is a 2xx, successful result echoing `text`."""
    headers = request_headers(era) | server.credential
    if session is not None:
        headers["Mcp-Session-Id"] = session
    response = client.post(server.url, json=tools_call_body(era, text, request_id=1), headers=headers)
    what = f"{server.name} {ERA_LABELS[era]} tools/call"
    if not response.is_success:
        raise BenchmarkError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    answer = parse_answer(response)
    result = answer.get("result")
    if "error" in answer or not isinstance(result, dict) or result.get("isError"):
        raise BenchmarkError(f"{what} did not succeed: {json.dumps(answer)[:300]}")
    if result.get("content") != [{"type": "text", "text": text}]:
        raise BenchmarkError(f"{what} did not echo {text!r}: {json.dumps(result)[:300]}")
    raw = response.text
    missing = [fragment for fragment in expected_fragments(text) if fragment not in raw]
    if missing:
        raise BenchmarkError(f"{what}: the wire text lacks {missing}, which the wrk script checks for")


def open_session(client: httpx.Client, server: Server) -> str:
    """The 2025-11-25 handshake: initialize, then notifications/initialized; returns the session id."""
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
    }
    base = {"Content-Type": "application/json", "Accept": ACCEPT} | server.credential
    response = client.post(server.url, json=init, headers=base)
    session = str(response.headers.get("mcp-session-id") or "")
    if not response.is_success or not session:
        raise BenchmarkError(
            f"{server.name}: initialize failed: HTTP {response.status_code} {response.text[:300]}"
        )
    answer = parse_answer(response)
    version = answer.get("result", {}).get("protocolVersion")
    if version != LEGACY_VERSION:
        raise BenchmarkError(f"{server.name}: initialize negotiated {version!r}, not {LEGACY_VERSION}")
    headers = base | {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY_VERSION}
    response = client.post(
        server.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
    )
    if response.status_code != 202:
        raise BenchmarkError(f"{server.name}: notifications/initialized got HTTP {response.status_code}")
    return session


def close_sessions(server: Server) -> None:
    with httpx.Client(timeout=5.0) as client:
        for session in server.sessions:
            with contextlib.suppress(httpx.HTTPError):
                client.delete(
                    server.url,
                    headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY_VERSION}
                    | server.credential,
                )
    server.sessions.clear()


# --- the servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uvicorn_command(factory: str, port: int, args: argparse.Namespace) -> list[str]:
    """Identical for both servers except the factory and the port."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        args.loop,
        "--http",
        args.http,
        "--lifespan",
        "on",
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]


def start_server(name: str, workdir: Path, args: argparse.Namespace) -> Server:
    port = free_port()
    env = dict(os.environ)
    env[gc_tools.STATS_ENV] = "1"
    if args.gc_freeze:
        env[gc_tools.FREEZE_ENV] = "1"
    if name != "bare":
        env["OMNI_MCP_BENCH_DATABASE_URL"] = database_url(workdir, name)
        settings = json.loads(args.gateway_settings or "{}")
        if name == KEYED:
            for section, values in KEYED_SETTINGS.items():
                settings.setdefault(section, {}).update(values)
        env["OMNI_MCP_BENCH_GATEWAY_SETTINGS"] = json.dumps(settings)
    log_path = workdir / f"{name.replace('+', '-')}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            uvicorn_command(FACTORIES[name], port, args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    return Server(name, port, process, log_path)


def database_url(workdir: Path, name: str) -> str:
    return f"sqlite:///{workdir / (name.replace('+', '-') + '.db')}"


def create_api_key(server: Server, workdir: Path) -> None:
    """Make a member key limited to the benchmark tool with the real CLI, as an operator would."""
    env = dict(os.environ) | {"OMNI_MCP_DATABASE__URL": database_url(workdir, server.name)}
    command = [sys.executable, "-m", "omni_mcp", "apikey", "create", "default", "--role", "member"]
    command += ["--tools", TOOL, "--name", "benchmark", "--json"]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    if completed.returncode != 0:
        raise BenchmarkError(f"omni-mcp apikey create failed: {completed.stderr.strip()[-500:]}")
    key = json.loads(completed.stdout)["key"]
    server.credential = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=10.0) as client:  # without the key, the keyed gateway must refuse
        refused = client.post(
            server.url, json=tools_call_body("modern", "x", 1), headers=request_headers("modern")
        )
    if refused.status_code != 401:
        raise BenchmarkError(f"{server.name} answered {refused.status_code} without a key; expected 401")


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Uvicorn answers HTTP only once the lifespan (migrations, plugin start-up) has completed."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            if server.process.poll() is not None:
                raise BenchmarkError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                client.get(f"http://127.0.0.1:{server.port}/")
                return
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{server.name} did not start within {timeout:g}s:\n{server.log_tail()}")
            time.sleep(0.1)


def stop_server(server: Server) -> None:
    """SIGINT is uvicorn's graceful shutdown (lifespan shutdown runs); kill only if that hangs."""
    if server.process.poll() is not None:
        return
    server.cpu_seconds_at_stop = process_cpu_seconds(server.process.pid)
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        print(f"warning: {server.name} did not stop within 15s; killing it", file=sys.stderr)
        server.process.kill()
        server.process.wait(timeout=5)


@contextlib.contextmanager
def running_servers(workdir: Path, args: argparse.Namespace) -> Iterator[dict[str, Server]]:
    servers: dict[str, Server] = {}
    try:
        for name in args.servers:
            servers[name] = start_server(name, workdir, args)
        for server in servers.values():
            wait_ready(server)
        if KEYED in servers:
            create_api_key(servers[KEYED], workdir)
        yield servers
    finally:
        for server in servers.values():
            if server.process.poll() is None:
                close_sessions(server)
            stop_server(server)


def machine_busy_seconds() -> float | None:
    """CPU seconds spent busy (not idle or waiting for I/O) by all CPUs since boot (Linux /proc)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc); None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


# --- wrk ---------------------------------------------------------------------------------------------


def wrk_command(server: Server, era: str, duration: float, args: argparse.Namespace) -> list[str]:
    body = json.dumps(tools_call_body(era, args.text), separators=(",", ":"))
    script_args = [f"body={body}"]
    script_args += [f"expect={fragment}" for fragment in expected_fragments(args.text)]
    headers = request_headers(era) | server.credential
    script_args += [f"header={name}: {value}" for name, value in headers.items()]
    if era == "legacy":
        script_args += [f"session={session}" for session in server.sessions]
    return [
        args.wrk,
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={args.request_timeout}s",
        f"--script={LUA_SCRIPT}",
        server.url,
        "--",
        *script_args,
    ]


@dataclasses.dataclass
class WrkRun:
    """One wrk process: its `WRK_RESULT` (from mcp_call.lua or prompts_list.lua), its output, and the CPU
    that the server, wrk itself and the whole machine used meanwhile."""

    result: dict[str, Any]
    lines: list[str]
    bad_sample: str
    elapsed_s: float
    server_cpu_s: float | None
    wrk_cpu_s: float
    machine_busy_s: float | None

    @property
    def latency(self) -> dict[str, float]:
        latency: dict[str, float] = self.result["latency_us"]
        return latency

    @property
    def errors(self) -> dict[str, int]:
        return {key: value for key, value in self.result["errors"].items() if value}

    @property
    def bad(self) -> int:
        """Answers the script found wrong, plus requests it never got to check."""
        result = self.result
        return int(result["bad"] + max(0, result["requests"] - result["checked"]))

    def other_cpu(self, *also_measured: float | None) -> float | None:
        """CPU seconds every other process used (less what the caller measured separately)."""
        if self.server_cpu_s is None or self.machine_busy_s is None:
            return None
        others = self.machine_busy_s - self.server_cpu_s - self.wrk_cpu_s
        return max(0.0, others - sum(value or 0.0 for value in also_measured))


def drive_wrk(command: list[str], server_pid: int, duration: float) -> WrkRun:
    """Run one wrk command against the server with that pid, timing its CPU and the machine's."""
    cpu_before = process_cpu_seconds(server_pid)
    busy_before = machine_busy_seconds()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise BenchmarkError(f"wrk did not finish: {error}") from None
    elapsed = time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = process_cpu_seconds(server_pid)
    busy_after = machine_busy_seconds()
    lines = completed.stdout.splitlines()
    result_line = next((line for line in lines if line.startswith("WRK_RESULT ")), None)
    if completed.returncode != 0 or result_line is None:
        raise BenchmarkError(
            f"wrk failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    sample = next(
        (line.removeprefix("WRK_BAD_SAMPLE ") for line in lines if line.startswith("WRK_BAD_SAMPLE ")), ""
    )
    return WrkRun(
        result=json.loads(result_line.removeprefix("WRK_RESULT ")),
        lines=lines,
        bad_sample=sample,
        elapsed_s=elapsed,
        server_cpu_s=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        wrk_cpu_s=(children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        machine_busy_s=None if busy_before is None or busy_after is None else busy_after - busy_before,
    )


def run_wrk(server: Server, era: str, duration: float, round_: int, args: argparse.Namespace) -> Measurement:
    run = drive_wrk(wrk_command(server, era, duration, args), server.process.pid, duration)
    return Measurement(
        server=server.name,
        era=era,
        round=round_,
        requests=run.result["requests"],
        duration_s=run.result["duration_us"] / 1e6,
        p50_ms=run.latency["p50"] / 1000,
        p99_ms=run.latency["p99"] / 1000,
        mean_ms=run.latency["mean"] / 1000,
        errors=run.errors,
        bad=run.bad,
        bad_sample=run.bad_sample,
        elapsed_s=run.elapsed_s,
        server_cpu_s=run.server_cpu_s,
        wrk_cpu_s=run.wrk_cpu_s,
        other_cpu_s=run.other_cpu(),
    )


def profile(servers: dict[str, Server], args: argparse.Namespace) -> None:
    """One extra, unmeasured wrk pass per case with py-spy sampling the server (collapsed stacks)."""
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise BenchmarkError("--profile needs py-spy: pip install py-spy (and ptrace rights on the servers)")
    args.profile.mkdir(parents=True, exist_ok=True)
    outputs = []
    for era in args.eras:
        for name in args.servers:
            server = servers[name]
            output = args.profile / f"{name}-{era}.txt"
            command = [py_spy, "record", "--pid", str(server.process.pid), "--rate", "200", "--nonblocking"]
            command += [
                "--duration",
                str(max(1, round(args.duration))),
                "--format",
                "raw",
                "--output",
                str(output),
            ]
            sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)  # let py-spy attach before the load starts
            measurement = run_wrk(server, era, args.duration, 0, args)
            try:
                _, errors = sampler.communicate(timeout=args.duration + 30)
            except subprocess.TimeoutExpired:
                sampler.kill()
                raise BenchmarkError("py-spy did not finish") from None
            if sampler.returncode != 0 or not output.exists():
                raise BenchmarkError(f"py-spy failed (exit {sampler.returncode}): {errors.strip()}")
            print(f"profiled {name} {ERA_LABELS[era]} at {measurement.rps:.0f} req/s -> {output}")
            outputs.append(output)
    print()
    for output in outputs:
        print(profile_summary.summarize(output))


def gc_line(server: Server) -> str:
    """The server's garbage-collector totals over its whole life (warm-up and profiling included)."""
    try:
        log = server.log_path.read_text(errors="replace")
    except OSError:
        log = ""
    line = next((x for x in log.splitlines() if x.startswith(gc_tools.STATS_PREFIX)), None)
    if line is None:
        return f"gc {server.name}: no statistics (the server did not stop cleanly?)"
    stats = json.loads(line.removeprefix(gc_tools.STATS_PREFIX))
    full, full_seconds = stats["collections"][2], stats["seconds"][2]
    cpu = stats.get("cpu_seconds", sum(stats["seconds"]))
    share = f" = {cpu / server.cpu_seconds_at_stop:.0%} of its CPU time" if server.cpu_seconds_at_stop else ""
    frozen = f", {stats['frozen_objects']} frozen" if stats["frozen_objects"] else ""
    return (
        f"gc {server.name}: {stats['tracked_objects_at_start']} tracked objects after start-up{frozen}, "
        f"{stats.get('tracked_objects_at_stop', '?')} at the end; "
        f"{full} full collections, {full_seconds * 1000 / max(full, 1):.0f} ms each; "
        f"collecting took {cpu:.2f} s of CPU{share}; longest pause {stats['longest_pause_ms']:.0f} ms"
    )


# --- the run -----------------------------------------------------------------------------------------


def schedule(eras: list[str], rounds: int, servers: list[str]) -> list[tuple[int, str, str]]:
    """(round, era, server) in an ABBA order: the order flips every case, so drift cancels."""
    cases = []
    for round_ in range(rounds):
        for index, era in enumerate(eras):
            order = servers if (round_ + index) % 2 == 0 else list(reversed(servers))
            cases += [(round_ + 1, era, server) for server in order]
    return cases


def prepare(servers: dict[str, Server], eras: list[str], args: argparse.Namespace) -> None:
    with httpx.Client(timeout=10.0) as client:
        for server in servers.values():
            if "modern" in eras:
                check_call(client, server, "modern", args.text)
            if "legacy" in eras:
                server.sessions = [open_session(client, server) for _ in range(args.sessions)]
                for session in server.sessions:
                    check_call(client, server, "legacy", args.text, session)


def _share(seconds: list[float | None], elapsed: float) -> float | None:
    """Cores' worth of CPU used on average, or None when it could not be measured."""
    if not elapsed or any(value is None for value in seconds):
        return None
    return sum(value for value in seconds if value is not None) / elapsed


def aggregate(measurements: list[Measurement], server: str, era: str) -> dict[str, Any]:
    """Pooled over the rounds: throughput is all requests over all measured time; latency is the median."""
    runs = [m for m in measurements if m.server == server and m.era == era]
    requests = sum(m.requests for m in runs)
    duration = sum(m.duration_s for m in runs)
    elapsed = sum(m.elapsed_s for m in runs)
    server_cpu = [m.server_cpu_s for m in runs]
    return {
        "server": server,
        "era": era,
        "rounds": len(runs),
        "requests": requests,
        "rps": requests / duration if duration else 0.0,
        "rps_per_round": [round(m.rps, 1) for m in runs],
        "p50_ms": statistics.median(m.p50_ms for m in runs),
        "p99_ms": statistics.median(m.p99_ms for m in runs),
        "mean_ms": statistics.fmean(m.mean_ms for m in runs),
        "server_cpu": _share(server_cpu, elapsed),
        "server_cpu_us_per_request": (
            sum(v for v in server_cpu if v is not None) * 1e6 / requests
            if requests and None not in server_cpu
            else None
        ),
        "wrk_cpu": _share([m.wrk_cpu_s for m in runs], elapsed),
        "other_cpu": _share([m.other_cpu_s for m in runs], elapsed),
        "failures": sum(m.failures for m in runs),
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'era':<18} {'server':<11} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'mean ms':>7} "
        f"{'CPU us/req':>10} {'server':>7} {'wrk':>5} {'others':>6} {'failed':>6}  req/s per round"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        per_request = row["server_cpu_us_per_request"]
        rounds = ", ".join(f"{value:.0f}" for value in row["rps_per_round"])
        print(
            f"{ERA_LABELS[row['era']]:<18} {row['server']:<11} {row['rps']:>8.1f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['mean_ms']:>7.2f} "
            f"{'n/a' if per_request is None else f'{per_request:.0f}':>10} {_percent(row['server_cpu']):>7} "
            f"{_percent(row['wrk_cpu']):>5} {_percent(row['other_cpu']):>6} {row['failures']:>6}  {rounds}"
        )
    print(
        "CPU us/req: server CPU time per request. server / wrk / others: CPU used during the runs, in % of"
        " one core, by the server, by wrk, and by every other process on the machine (noise)."
    )


def summary_line(rows: list[dict[str, Any]], eras: list[str], failures: int) -> str:
    by_key = {(row["server"], row["era"]): row for row in rows}
    throughput = []
    latency = []
    auth: list[str] = []
    noise: list[str] = []
    for era in eras:
        gateway, bare = by_key[("gateway", era)], by_key[("bare", era)]
        ratio = gateway["rps"] / bare["rps"] * 100 if bare["rps"] else 0.0
        label = "legacy" if era == "legacy" else MODERN_VERSION
        throughput.append(
            f"{label} gateway {gateway['rps']:.0f} rps vs bare {bare['rps']:.0f} rps ({ratio:.0f}%)"
        )
        latency.append(f"{label} {gateway['p99_ms']:.1f}/{bare['p99_ms']:.1f}")
        keyed = by_key.get((KEYED, era))
        if keyed is not None:
            auth.append(f"{label} {versus(keyed, gateway)}")
        twin = by_key.get((TWIN, era))
        if twin is not None:
            noise.append(f"{label} {versus(twin, gateway)}")
    validity = "valid, 0 failed requests" if not failures else f"INVALID: {failures} failed requests"
    cost = f"; auth cost ({KEYED} vs gateway): {', '.join(auth)}" if auth else ""
    cost += f"; noise floor ({TWIN} vs gateway): {', '.join(noise)}" if noise else ""
    return f"summary: {', '.join(throughput)}; p99 ms gateway/bare: {', '.join(latency)}{cost}; {validity}"


def versus(other: dict[str, Any], gateway: dict[str, Any]) -> str:
    """Throughput lost by `other` against the gateway, and the server CPU it adds per request."""
    lost = (1 - other["rps"] / gateway["rps"]) * 100 if gateway["rps"] else 0.0
    text = f"{other['rps']:.0f} vs {gateway['rps']:.0f} rps ({lost:.1f}% lost)"
    per_request = other["server_cpu_us_per_request"], gateway["server_cpu_us_per_request"]
    if None not in per_request:
        text += f", {per_request[0] - per_request[1]:+.0f} us CPU/req"
    return text


def environment_line(args: argparse.Namespace) -> str:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    loop = (
        args.loop if args.loop != "auto" else ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    )
    http = (
        args.http
        if args.http != "auto"
        else ("httptools" if importlib.util.find_spec("httptools") else "h11")
    )
    wrk_version = subprocess.run([args.wrk, "--version"], capture_output=True, text=True, check=False)
    return (
        f"python {platform.python_version()}, mcp {version('mcp')}, omni-mcp {version('omni-mcp')}, "
        f"uvicorn {version('uvicorn')} (loop {loop}, http {http}), "
        f"{(wrk_version.stdout or wrk_version.stderr).splitlines()[0].split(' Copyright')[0]}, "
        f"{os.cpu_count()} CPUs, {platform.machine()} {platform.system()}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per case (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per case (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--sessions",
        type=int,
        default=None,
        help="handshake-era sessions per server, requests rotate over them (default: one per connection)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds of every case (default 2)")
    parser.add_argument(
        "--eras", default="legacy,modern", help="comma-separated: legacy (2025-11-25), modern (2026-07-28)"
    )
    parser.add_argument("--text", default="omni-mcp-bench", help="the echoed text (plain ASCII)")
    parser.add_argument("--request-timeout", type=int, default=10, help="wrk per-request timeout in seconds")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop for both servers (default auto)")
    parser.add_argument("--http", default="auto", help="uvicorn --http for both servers (default auto)")
    parser.add_argument("--wrk", default="wrk", help="the wrk executable (default: wrk on PATH)")
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement to this file")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="after measuring, profile each case once more with py-spy and write collapsed stacks here",
    )
    parser.add_argument(
        "--gateway-settings",
        default="",
        metavar="JSON",
        help='gateway settings merged over the benchmark\'s, e.g. \'{"rate_limit": {"enabled": false}}\'',
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="in both servers, gc.collect() + gc.freeze() after start-up (to see what GC costs)",
    )
    parser.add_argument(
        "--auth",
        action="store_true",
        help=f"also run the gateway with local mode off, every request carrying an API key ({KEYED}): "
        "the summary then gives the cost of authentication and RBAC per request",
    )
    parser.add_argument(
        "--twin",
        action="store_true",
        help=f"also run a second, identical gateway ({TWIN}): the summary then shows how much two equal "
        "servers differ here, the noise floor for every other comparison",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, database)")
    args = parser.parse_args(argv)
    args.eras = [era.strip() for era in args.eras.split(",") if era.strip()]
    if not args.eras or any(era not in ERAS for era in args.eras):
        parser.error(f"--eras takes a comma-separated subset of {', '.join(ERAS)}")
    if args.sessions is None:
        args.sessions = args.connections
    args.servers = ["bare", "gateway", *([KEYED] if args.auth else []), *([TWIN] if args.twin else [])]
    for name in ("duration", "connections", "threads", "sessions", "rounds"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    if args.gateway_settings:
        try:
            if not isinstance(json.loads(args.gateway_settings), dict):
                raise ValueError
        except ValueError:
            parser.error("--gateway-settings takes a JSON object of settings sections")
    if args.threads > args.connections:
        parser.error("--threads cannot exceed --connections")
    if not args.text.replace("-", "").replace("_", "").isalnum() or not args.text.isascii():
        parser.error("--text must be plain ASCII letters, digits, '-' and '_' (it is matched in raw answers)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which(args.wrk)
    if wrk is None:
        print(INSTALL_WRK, file=sys.stderr)
        return 2
    args.wrk = wrk
    cases = schedule(args.eras, args.rounds, args.servers)
    print(f"environment: {environment_line(args)}")
    print(
        f"load: wrk {args.threads} thread(s), {args.connections} connections, {args.duration:g}s per case, "
        f"{args.rounds} round(s), warm-up {args.warmup:g}s; handshake era over {args.sessions} session(s)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="omni-mcp-bench-"))
    measurements: list[Measurement] = []
    gc_lines: list[str] = []
    try:
        with running_servers(workdir, args) as servers:
            print(
                "servers: " + ", ".join(f"{s.name} {s.url} (pid {s.process.pid})" for s in servers.values())
            )
            prepare(servers, args.eras, args)
            if args.warmup > 0:
                for era in args.eras:
                    for name in args.servers:
                        warm = run_wrk(servers[name], era, args.warmup, 0, args)
                        if warm.failures:
                            raise BenchmarkError(
                                f"warm-up of {name} {ERA_LABELS[era]} had {warm.failures} failed requests "
                                f"({warm.errors or ''} {warm.bad_sample})"
                            )
            for index, (round_, era, name) in enumerate(cases, start=1):
                measurement = run_wrk(servers[name], era, args.duration, round_, args)
                measurements.append(measurement)
                others = _share([measurement.other_cpu_s], measurement.elapsed_s)
                note = f"  FAILED {measurement.failures}: {measurement.errors} {measurement.bad_sample}"
                print(
                    f"[{index}/{len(cases)}] round {round_} {ERA_LABELS[era]:<18} {name:<11} "
                    f"{measurement.rps:8.1f} req/s  p50 {measurement.p50_ms:6.2f} ms  "
                    f"p99 {measurement.p99_ms:6.2f} ms  others {_percent(others)}"
                    + (note if measurement.failures else ""),
                    flush=True,
                )
            for server in servers.values():
                if server.process.poll() is not None:
                    raise BenchmarkError(f"{server.name} died during the run:\n{server.log_tail()}")
            if args.profile is not None:
                profile(servers, args)
        gc_lines = [gc_line(server) for server in servers.values()]
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = [aggregate(measurements, server, era) for era in args.eras for server in args.servers]
    failures = sum(row["failures"] for row in rows)
    print()
    print_table(rows)
    print("\n".join(gc_lines))
    if args.json is not None:
        payload = {
            "environment": environment_line(args),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "measurements": [dataclasses.asdict(m) | {"rps": m.rps} for m in measurements],
            "aggregates": rows,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    busiest = max((row["other_cpu"] or 0.0 for row in rows), default=0.0)
    if busiest > NOISY_OTHER_CPU:
        print(
            f"\nnote: other processes used up to {busiest * 100:.0f}% of a core during the runs; the machine"
            " was not quiet, so expect noise (compare CPU us/req, or rerun with more --rounds)"
        )
    if failures:
        print(f"\nthe run had {failures} failed requests; its figures are not valid", file=sys.stderr)
    print(summary_line(rows, args.eras, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
