"""As a user runs it: the installed plugin found through its entry point, configured with the omni-mcp
command line, served by `omni-mcp serve` in a subprocess, called by the official MCP client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp
import mcp.types as types
import pytest
from cryptography.fernet import Fernet
from fake_perplexity import VALID_KEY, Behaviour, FakePerplexity
from perplexity_helpers import text_of, user

from omni_mcp.testing import free_port, fresh_database_url

pytestmark = pytest.mark.anyio

Progress = list[tuple[float, float | None, str | None]]


def omni(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def served(fake_server: FakePerplexity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`omni-mcp serve` with the perplexity plugin, its settings set by `omni-mcp service set`."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with fresh_database_url() as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
        env.update(
            OMNI_MCP_DATABASE__URL=database_url,
            OMNI_MCP_PLUGINS__ALLOW='["perplexity"]',
            OMNI_MCP_SECURITY__ENCRYPTION_KEYS=json.dumps([Fernet.generate_key().decode()]),
            OMNI_MCP_GATEWAY__TOOL_TIMEOUT="20",
        )
        env["OMNI_MCP_RATE_LIMIT__ENABLED"] = "false"  # not what these tests are about
        # The operator points the plugin at the fake for every organization (no org may change it).
        env["OMNI_MCP_PLUGINS__SETTINGS"] = json.dumps({"perplexity": {"base_url": fake_server.url}})
        configured = omni(
            env,
            "service",
            "set",
            "default",
            "perplexity",
            f"api_key={VALID_KEY}",
            "default_model=sonar",
            "timeout=1",
            "research_timeout=15",
            "retry_backoff=0.01",
            "max_retry_wait=0.05",
        )
        assert configured.returncode == 0, configured.stderr
        assert VALID_KEY not in configured.stdout + configured.stderr
        assert "api_key=********" in configured.stdout
        port = free_port()
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(base, process, log)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
            assert VALID_KEY not in log.read_text(), "the API key leaked into the server log"


def wait_for_health(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"serve did not become healthy:\n{log.read_text()}")


def test_the_plugin_is_discovered_through_its_entry_point(served: str) -> None:
    health = httpx.get(served + "/health").json()
    assert health["plugins"]["perplexity"]["status"] == "healthy"
    assert health["plugins"]["perplexity"]["version"] == "0.2.0"


HAPPY: list[tuple[str, dict[str, Any], str]] = [
    ("perplexity_search", {"query": "heat pumps", "max_results": 2}, 'Found 2 results for "heat pumps"'),
    ("perplexity_ask", {"messages": user("What is a heat pump?")}, "Answered by sonar [3]."),
    ("perplexity_reason", {"messages": user("Why?"), "strip_thinking": True}, "by sonar-reasoning-pro"),
    ("perplexity_research", {"messages": user("heat pumps in 2025")}, "# Report: heat pumps in 2025"),
    ("perplexity_compare", {"items": ["air source", "ground source"]}, "Answered by sonar [3]."),
    ("perplexity_summarize", {"url": "https://example.com/a"}, "Answered by sonar [3]."),
]


async def test_every_tool_answers(served: str, fake: FakePerplexity, era: str) -> None:
    async with mcp.Client(served + "/mcp", mode=era) as client:
        for tool, arguments, expected in HAPPY:
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, f"{tool}: {text_of(result)}"
            assert expected in text_of(result), tool
            assert result.structured_content is not None
            assert result.structured_content["stored_as"].startswith("perplexity://searches/")
        listing = (await client.read_resource("perplexity://searches")).contents[0]
    assert isinstance(listing, types.TextResourceContents)
    tools = [entry["tool"] for entry in json.loads(listing.text)["searches"][:6]]
    assert tools == ["summarize", "compare", "research", "reason", "ask", "search"]
    assert all(r.authorization == f"Bearer {VALID_KEY}" for r in fake.requests)


async def test_research_progress_reaches_the_client(served: str, fake: FakePerplexity, era: str) -> None:
    fake.enqueue("/chat/completions", Behaviour(paragraphs=8, chunk_delay=0.01))
    reports: Progress = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with mcp.Client(served + "/mcp", mode=era) as client:
        result = await client.call_tool(
            "perplexity_research", {"messages": user("progress")}, progress_callback=on_progress
        )
    assert not result.is_error, text_of(result)
    messages = [message or "" for _, _, message in reports]
    assert messages[0].startswith("Asked sonar-deep-research")
    assert any(m.startswith("Writing the report:") for m in messages)
    assert messages[-1].startswith("Research complete:")


async def test_cancelling_research_stops_the_upstream_request(
    served: str, fake: FakePerplexity, era: str
) -> None:
    fake.enqueue("/chat/completions", Behaviour(paragraphs=400, chunk_delay=0.02))
    streaming = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if progress > 0:
            streaming.set()

    async with mcp.Client(served + "/mcp", mode=era) as client:
        async with anyio.create_task_group() as group:

            async def research() -> None:
                await client.call_tool(
                    "perplexity_research", {"messages": user("cancel me")}, progress_callback=on_progress
                )

            group.start_soon(research)
            with anyio.fail_after(10):
                await streaming.wait()
            group.cancel_scope.cancel()
        (request,) = fake.to("/chat/completions")
        await anyio.to_thread.run_sync(lambda: fake.wait_until(lambda: request.disconnected, timeout=5))
    assert not request.completed and request.frames_sent < 400


async def test_errors_are_clear(served: str, fake: FakePerplexity, era: str) -> None:
    async with mcp.Client(served + "/mcp", mode=era) as client:
        fake.enqueue("/chat/completions", Behaviour(delay=3))
        slow = await client.call_tool("perplexity_ask", {"messages": user("slow")})

        fake.enqueue("/search", Behaviour(status=429, retry_after="60"), Behaviour(status=503))
        retried = await client.call_tool("perplexity_search", {"query": "busy"})

        fake.keys = set()  # the organization's key is revoked upstream
        refused = await client.call_tool("perplexity_search", {"query": "revoked"})

        invalid = await client.call_tool("perplexity_search", {"query": "x", "max_results": 0})
    assert slow.is_error
    assert text_of(slow).startswith("The Perplexity answer did not finish within 1 s (the 'timeout'")
    assert not retried.is_error and [r.status for r in fake.to("/search")][:3] == [429, 503, 200]
    assert refused.is_error
    assert text_of(refused).startswith("Perplexity rejected the API key (HTTP 401 Unauthorized")
    assert invalid.is_error
    assert text_of(invalid).startswith("Invalid arguments for tool 'perplexity_search'")
    assert "argument 'max_results'" in text_of(invalid)


async def tasks_request(served: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One 2026-07-28 request declaring the tasks extension (the SDK client has no tasks surface yet)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    }
    headers = {
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
        "Accept": "application/json, text/event-stream",
    }
    headers["Mcp-Name"] = params.get("name") or params.get("taskId") or ""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    async with httpx.AsyncClient(timeout=30) as http:
        answer: dict[str, Any] = (await http.post(served + "/mcp", json=body, headers=headers)).json()
    assert "result" in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


async def test_cancelling_a_research_task_closes_the_upstream_stream(
    served: str, fake: FakePerplexity
) -> None:
    fake.enqueue("/chat/completions", Behaviour(paragraphs=400, chunk_delay=0.02))
    call = {"name": "perplexity_research", "arguments": {"messages": user("a task")}}
    task = await tasks_request(served, "tools/call", call)
    assert task["resultType"] == "task"
    await anyio.to_thread.run_sync(
        lambda: fake.wait_until(
            lambda: any(r.frames_sent > 0 for r in fake.to("/chat/completions")), timeout=10
        )
    )
    ack = await tasks_request(served, "tasks/cancel", {"taskId": task["taskId"]})
    assert ack["resultType"] == "complete"
    (request,) = fake.to("/chat/completions")
    await anyio.to_thread.run_sync(lambda: fake.wait_until(lambda: request.disconnected, timeout=5))
    assert not request.completed and request.frames_sent < 400
    assert (await tasks_request(served, "tasks/get", {"taskId": task["taskId"]}))["status"] == "cancelled"
