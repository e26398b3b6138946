"""Scale-out: 2026-07-28 tools/call requests per second through HAProxy in front of 1, 2 and 3
`omni-mcp serve` processes (on a private PostgreSQL), and the memory one idle handshake-era session costs.

    python benchmarks/scaleout.py --seconds 10 --clients 8 --sessions 500

Needs haproxy, the PostgreSQL 15 binaries and the conformance fixture plugin (`pip install -e
tests/conformance_plugin`). The load comes from Python threads on the same machine, so on a small
machine the client's share of the CPU caps the figures: read them together with the core count printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omni_mcp.testing import free_port
from tests.private_servers import private_postgres
from tests.scaleout import Backend, haproxy_cluster, modern_post
from tests.test_faults import serving_env

LEGACY = "2025-11-25"


def drive(url: str, seconds: float, clients: int) -> tuple[int, int]:
    """(successful calls, failed calls) made by `clients` threads in `seconds`."""
    counts = [[0, 0] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def client(slot: list[int]) -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop:
                answer = modern_post(http, url, "tools/call", {"name": "test_simple_text", "arguments": {}})
                ok = answer.status_code == 200 and '"isError":true' not in answer.text.replace(" ", "")
                slot[0 if ok else 1] += 1

    threads = [threading.Thread(target=client, args=(slot,)) for slot in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def memory_per_session(env: dict[str, str], sessions: int) -> float:
    backend = Backend("one", free_port(), {**env, "OMNI_MCP_GATEWAY__MAX_SESSIONS": str(sessions * 2)})
    backend.start()
    try:
        backend.wait_healthy()
        assert backend.process is not None
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        with httpx.Client(timeout=30, headers=headers) as http:

            def open_session() -> None:
                opened = http.post(
                    backend.base + "/mcp",
                    json={
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {
                            "protocolVersion": LEGACY,
                            "capabilities": {},
                            "clientInfo": {"name": "bench", "version": "1"},
                        },
                    },
                )
                session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}
                http.post(
                    backend.base + "/mcp",
                    json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                    headers=session,
                )

            for _ in range(20):  # warm up what the first sessions allocate once
                open_session()
            before = rss_kib(backend.process.pid)
            for _ in range(sessions):
                open_session()
            after = rss_kib(backend.process.pid)
        return (after - before) * 1024 / sessions
    finally:
        backend.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=500)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with private_postgres() as postgres:
        env = serving_env(postgres.url, OMNI_MCP_SERVER__FREEZE_GC="true")
        for count in (1, 2, 3):
            with haproxy_cluster(env, count) as cluster:
                drive(cluster.mcp_url, 3, args.clients)  # warm-up; HAProxy takes unused slots out
                ok, failed = drive(cluster.mcp_url, args.seconds, args.clients)
            print(f"{count} process(es) behind HAProxy: {ok / args.seconds:.0f} req/s ({failed} failed)")
        per_session = memory_per_session(env, args.sessions)
        print(
            f"memory per idle handshake-era session: {per_session / 1024:.1f} KiB ({args.sessions} sessions)"
        )


if __name__ == "__main__":
    main()
