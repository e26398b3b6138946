"""Real `omni-mcp serve` processes behind HAProxy (deploy/haproxy.cfg, as shipped), for scale-out tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from omni_mcp.testing import free_port
from tests.test_cli import wait_for_health

DEPLOY = Path(__file__).parent.parent / "deploy"
HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
BACKEND_HEADER = "x-omni-mcp-backend"
STARTUP_SECONDS = 180
MODERN = "2026-07-28"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@dataclass
class Backend:
    name: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omni_mcp", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_healthy(self) -> None:
        assert self.process is not None
        # Generous: several processes importing at once on a busy 2-core machine take their time.
        wait_for_health(self.base, self.process, timeout=STARTUP_SECONDS)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> str:
        """Signal the process and wait for it; returns what it printed."""
        if self.process is None:
            return ""
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(sig)
        output, _ = process.communicate(timeout=timeout)
        return output


@dataclass
class Cluster:
    url: str
    backends: list[Backend]
    haproxy: subprocess.Popen[str]
    answered_by: dict[str, int] = field(default_factory=dict)

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"


def modern_request(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method,
        "params": {**(params or {}), "_meta": MODERN_META},
    }


def modern_post(
    client: httpx.Client, url: str, method: str, params: dict[str, Any] | None = None
) -> httpx.Response:
    """One raw 2026-07-28 request (its answer's headers say which process served it)."""
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if params and isinstance(params.get("name"), str):
        headers["mcp-name"] = params["name"]
    return client.post(url, json=modern_request(method, params), headers=headers)


def wait_until_balanced(cluster: Cluster, timeout: float = 60) -> None:
    """Until every process has answered through the balancer (HAProxy's checks found them up)."""
    names = {backend.name for backend in cluster.backends}
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:
        while seen != names:
            assert cluster.haproxy.poll() is None, cluster.haproxy.communicate()[0]
            assert time.monotonic() < deadline, f"only {sorted(seen)} answered through HAProxy: " + "; ".join(
                f"{b.name}: {httpx.get(b.base + '/health', timeout=5).text}" for b in cluster.backends
            )
            with contextlib.suppress(httpx.TransportError):
                answer = client.get(cluster.url + "/health")
                if answer.status_code == 200:
                    seen.add(answer.headers[BACKEND_HEADER])
                    continue
            time.sleep(0.05)


@contextlib.contextmanager
def haproxy_cluster(env: dict[str, str], count: int = 3) -> Iterator[Cluster]:
    """`count` serve processes sharing `env`, behind HAProxy with deploy/haproxy.cfg."""
    assert HAPROXY is not None
    backends = [Backend(f"omni{i}", free_port(), env) for i in range(1, count + 1)]
    lb_port = free_port()
    haproxy_env = {**os.environ, "OMNI_MCP_LB_BIND": f"127.0.0.1:{lb_port}"}
    for i in range(1, 4):  # the shipped file names three; unused ones point at a closed port
        haproxy_env[f"OMNI_MCP_BACKEND_{i}"] = (
            f"127.0.0.1:{backends[i - 1].port if i <= count else free_port()}"
        )
    haproxy: subprocess.Popen[str] | None = None
    try:
        for backend in backends:
            backend.start()
        for backend in backends:
            backend.wait_healthy()
        haproxy = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(DEPLOY / "haproxy.cfg")],
            env=haproxy_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        cluster = Cluster(f"http://127.0.0.1:{lb_port}", backends, haproxy)
        wait_until_balanced(cluster)
        yield cluster
    finally:
        if haproxy is not None:
            haproxy.terminate()
            haproxy.communicate(timeout=10)
        for backend in backends:
            backend.stop()
