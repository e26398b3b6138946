"""Three real `omni-mcp serve` processes behind HAProxy (round robin, no stickiness) on one PostgreSQL
and one Redis: any process serves any 2026-07-28 request, and a change made through the CLI is served by
every process within a second."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import mcp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from omni_mcp.testing import TEST_DATABASE_ENV, fresh_database_url
from tests.scaleout import BACKEND_HEADER, HAPROXY, Cluster, haproxy_cluster, modern_post
from tests.test_multiprocess import PROPAGATION_LIMIT_SECONDS, REDIS_URL, base_env, redis_available

pytestmark = pytest.mark.anyio


METRICS_TOKEN = "scrape-the-cluster"


def cluster_env(database_url: str, metrics_folder: Path) -> dict[str, str]:
    """What every process shares: the database, Redis, the encryption key, the plugins, the metrics folder."""
    env = base_env(database_url, OMNI_MCP_REDIS__URL=REDIS_URL)
    env.update(
        OMNI_MCP_PLUGINS__ALLOW='["conformance"]',
        OMNI_MCP_METRICS__ENABLED="true",
        OMNI_MCP_METRICS__TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_folder),
    )
    return env


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if HAPROXY is None:
        pytest.skip("needs HAProxy (Debian package haproxy); CI installs it")
    if not os.environ.get(TEST_DATABASE_ENV, "").startswith("postgresql"):
        pytest.skip(f"needs PostgreSQL: set {TEST_DATABASE_ENV} (CI does)")
    if not redis_available():
        pytest.skip(f"needs Redis at {REDIS_URL} (set OMNI_MCP_TEST_REDIS_URL; CI runs one)")
    with (
        tempfile.TemporaryDirectory(prefix="omni-mcp-metrics-") as metrics_folder,
        fresh_database_url() as url,
        haproxy_cluster(cluster_env(url, Path(metrics_folder))) as running,
    ):
        yield running


def prompts_through(cluster: Cluster, client: httpx.Client) -> tuple[str, set[str]]:
    """Which process answered a prompts/list sent through HAProxy, and the prompt names it listed."""
    answer = modern_post(client, cluster.mcp_url, "prompts/list")
    assert answer.status_code == 200, answer.text
    return answer.headers[BACKEND_HEADER], {p["name"] for p in answer.json()["result"]["prompts"]}


async def test_any_process_serves_modern_requests(cluster: Cluster) -> None:
    with httpx.Client(timeout=10) as client:
        served = Counter(prompts_through(cluster, client)[0] for _ in range(9))
    assert served == {"omni1": 3, "omni2": 3, "omni3": 3}  # round robin, no stickiness
    async with mcp.Client(cluster.mcp_url, mode="2026-07-28") as client:
        for _ in range(12):
            result = await client.call_tool("test_simple_text", {})
            assert not result.is_error
            assert result.content[0].text  # type: ignore[union-attr]
        assert "test_simple_prompt" in {p.name for p in (await client.list_prompts()).prompts}


async def test_a_cli_change_is_served_by_every_process_within_a_second(
    cluster: Cluster, tmp_path: Path
) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(6):  # every process has cached the configuration without the new prompt
            assert "fresh_lb" not in prompts_through(cluster, client)[1]
        spec = tmp_path / "fresh.toml"
        spec.write_text('template = "new prompt"\n')
        change = subprocess.run(
            [sys.executable, "-m", "omni_mcp", "prompt", "set", "default", "fresh_lb", "--file", str(spec)],
            env=cluster.backends[0].env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert change.returncode == 0, change.stderr
        changed_at = time.monotonic()
        first_served: dict[str, float] = {}
        while len(first_served) < len(cluster.backends):
            backend, names = prompts_through(cluster, client)
            elapsed = time.monotonic() - changed_at
            if "fresh_lb" in names:
                first_served.setdefault(backend, elapsed)
            else:
                assert backend not in first_served, f"{backend} served the change, then the old list"
                assert elapsed < PROPAGATION_LIMIT_SECONDS, f"{backend} still serves the old prompts"
        print(f"the change was served by each process after: {first_served}")
    async with mcp.Client(cluster.mcp_url, mode="2026-07-28") as official:
        for _ in range(3):
            assert "fresh_lb" in {p.name for p in (await official.list_prompts()).prompts}


def tool_calls_counted(base: str) -> float:
    """omni_mcp_calls_total for test_simple_text, as one process's /metrics reports it."""
    scraped = httpx.get(base + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert scraped.status_code == 200, scraped.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "omni_mcp_calls_total" and sample.labels.get("name") == "test_simple_text"
    )


async def test_any_process_reports_the_metrics_of_all(cluster: Cluster) -> None:
    before = [tool_calls_counted(backend.base) for backend in cluster.backends]
    assert len(set(before)) == 1  # each process reports the same sum
    async with mcp.Client(cluster.mcp_url, mode="2026-07-28") as client:
        for _ in range(9):  # three on each process, round robin
            assert not (await client.call_tool("test_simple_text", {})).is_error
    after = [tool_calls_counted(backend.base) for backend in cluster.backends]
    assert after == [before[0] + 9] * 3
