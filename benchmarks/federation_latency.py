"""Added latency and throughput of a federated tool call: the gateway in front of an upstream MCP server
versus calling that upstream directly, measured in the same run.

    python benchmarks/federation_latency.py --calls 2000 --concurrency 16 --seconds 10

Starts two processes on 127.0.0.1 (free ports): an upstream (the official SDK's MCPServer with one `echo`
tool, `federation_upstream_app.py`, under uvicorn) and `omni-mcp serve` on a fresh SQLite file, with the
upstream added to the default organization by the real `omni-mcp upstream add`. One official SDK client
(2026-07-28 era, so each call is one POST) calls `echo` on the upstream and `up_echo` on the gateway,
alternating call by call so drift hits both alike, and reports p50/p90/p99 of each and the p50 difference.
Then `--concurrency` clients call as fast as they can for `--seconds` each, directly and federated, and
report calls per second. Prints a table, then a one-line summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import mcp
from cryptography.fernet import Fernet

HERE = Path(__file__).resolve().parent
ERA = "2026-07-28"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.05)


@contextlib.contextmanager
def started(command: list[str], env: dict[str, str], port: int, what: str) -> Iterator[None]:
    process = subprocess.Popen(
        command, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process, what)
        yield
    finally:
        process.terminate()
        process.wait(timeout=15)


async def latencies(direct_url: str, gateway_url: str, calls: int) -> tuple[list[float], list[float]]:
    direct: list[float] = []
    federated: list[float] = []
    async with (
        mcp.Client(direct_url, mode=ERA, cache=None) as up,
        mcp.Client(gateway_url, mode=ERA, cache=None) as gw,
    ):
        for client, tool in ((up, "echo"), (gw, "up_echo")):  # warm up both paths
            for _ in range(50):
                await client.call_tool(tool, {"text": "warm"})
        for number in range(calls):
            for client, tool, sink in ((up, "echo", direct), (gw, "up_echo", federated)):
                started_at = time.perf_counter()
                result = await client.call_tool(tool, {"text": str(number)})
                sink.append((time.perf_counter() - started_at) * 1000)
                if result.is_error:
                    raise SystemExit(f"{tool} failed: {result.content}")
    return direct, federated


async def throughput(url: str, tool: str, concurrency: int, seconds: float) -> float:
    done = 0

    async def worker() -> None:
        nonlocal done
        async with mcp.Client(url, mode=ERA, cache=None) as client:
            await client.call_tool(tool, {"text": "warm"})
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                result = await client.call_tool(tool, {"text": "x"})
                if result.is_error:
                    raise SystemExit(f"{tool} failed under load: {result.content}")
                done += 1

    started_at = time.monotonic()
    async with anyio.create_task_group() as tasks:
        for _ in range(concurrency):
            tasks.start_soon(worker)
    return done / (time.monotonic() - started_at)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per path for latency")
    parser.add_argument("--concurrency", type=int, default=16, help="clients calling at once for throughput")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each throughput run")
    options = parser.parse_args()

    upstream_port, gateway_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="omni-mcp-federation-bench-") as folder:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")},
            "OMNI_MCP_DATABASE__URL": f"sqlite:///{Path(folder) / 'bench.db'}",
            "OMNI_MCP_SECURITY__ENCRYPTION_KEYS": json.dumps([Fernet.generate_key().decode()]),
            "OMNI_MCP_PLUGINS__ALLOW": "[]",
            "OMNI_MCP_FEDERATION__ALLOW_PRIVATE_HOSTS": '["127.0.0.1"]',
            "OMNI_MCP_RATE_LIMIT__ENABLED": "false",
            "OMNI_MCP_LOGGING__LEVEL": "WARNING",
            "OMNI_MCP_SERVER__FREEZE_GC": "true",
        }
        omni = [sys.executable, "-m", "omni_mcp"]
        upstream_url = f"http://127.0.0.1:{upstream_port}/mcp"
        gateway_url = f"http://127.0.0.1:{gateway_port}/mcp"
        uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "federation_upstream_app:create_app"]
        quiet = ["--log-level", "warning", "--no-access-log", "--port", str(upstream_port)]
        with started(uvicorn + quiet, env, upstream_port, "the upstream"):
            subprocess.run([*omni, "db", "upgrade"], env=env, check=True, capture_output=True)
            subprocess.run(
                [*omni, "upstream", "add", "default", "up", "--url", upstream_url], env=env, check=True
            )
            with started([*omni, "serve", "--port", str(gateway_port)], env, gateway_port, "the gateway"):
                direct, federated = anyio.run(latencies, upstream_url, gateway_url, options.calls)
                direct_rate = anyio.run(
                    throughput, upstream_url, "echo", options.concurrency, options.seconds
                )
                federated_rate = anyio.run(
                    throughput, gateway_url, "up_echo", options.concurrency, options.seconds
                )

    print(
        f"# {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, mcp {mcp_version()}"
    )
    print(
        f"# latency: {options.calls} sequential calls per path, alternating; "
        f"throughput: {options.concurrency} clients for {options.seconds:g} s"
    )
    print("| path | p50 ms | p90 ms | p99 ms | mean ms | calls/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values, rate in (("direct", direct, direct_rate), ("federated", federated, federated_rate)):
        print(
            f"| {name} | {percentile(values, 0.5):.2f} | {percentile(values, 0.9):.2f} | "
            f"{percentile(values, 0.99):.2f} | {statistics.fmean(values):.2f} | {rate:.0f} |"
        )
    added = percentile(federated, 0.5) - percentile(direct, 0.5)
    print(
        f"federation: p50 added {added:.2f} ms per call; throughput {federated_rate:.0f} calls/s federated "
        f"vs {direct_rate:.0f} direct ({federated_rate / direct_rate:.0%})"
    )


def mcp_version() -> str:
    from importlib.metadata import version

    return version("mcp")


if __name__ == "__main__":
    main()
