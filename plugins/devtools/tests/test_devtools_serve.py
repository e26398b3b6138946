"""As a user runs it: the installed plugin found through its entry point, its operator settings from the
environment, served by `omni-mcp serve` in a subprocess, called by the official MCP client; stopping the
server closes the browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mcp
import pytest
from devtools_helpers import call, operator_settings, text_of
from site_server import LocalSite

from omni_mcp.testing import free_port, fresh_database_url

pytestmark = pytest.mark.anyio


def chromium_children(pid: int) -> list[int]:
    """Processes under `pid` (any depth) whose command is Chromium."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
            parents[int(entry)] = int(rest.split()[1])
            names[int(entry)] = name
    found = []
    for child, name in names.items():
        ancestor = parents.get(child)
        while ancestor and ancestor != pid:
            ancestor = parents.get(ancestor)
        if ancestor == pid and "chrom" in name:
            found.append(child)
    return found


@pytest.fixture(scope="module")
def served(
    site: LocalSite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with fresh_database_url() as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
        env.update(
            OMNI_MCP_DATABASE__URL=database_url,
            OMNI_MCP_PLUGINS__ALLOW='["devtools"]',
            OMNI_MCP_PLUGINS__SETTINGS=json.dumps({"devtools": operator_settings(site)}),
            OMNI_MCP_RATE_LIMIT__ENABLED="false",
        )
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
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield base, process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


async def test_served_through_the_entry_point_in_both_eras(
    served: tuple[str, subprocess.Popen[bytes]], site: LocalSite
) -> None:
    base, _process = served
    for era in ("legacy", "2026-07-28"):
        async with mcp.Client(base + "/mcp", mode=era) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            assert len([name for name in tools if name.startswith("devtools_")]) >= 40
            await call(client, "navigate_page", url=site.at("/form"))
            assert 'button "Send"' in text_of(await call(client, "take_snapshot"))
            templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
            assert "devtools://artefacts/{id}" in templates
    async with httpx.AsyncClient() as http:
        health = (await http.get(base + "/health")).json()["plugins"]["devtools"]
    assert health["status"] == "healthy"
    assert health["version"] == "0.1.0"
    assert health["detail"].startswith("Chromium ")
    assert "1 context(s)" in health["detail"]


def test_stopping_the_server_closes_the_browser(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    _base, process = served
    browser = chromium_children(process.pid)
    assert browser, "the browser should be running (started by the test above)"
    process.terminate()
    process.wait(timeout=30)  # uvicorn shuts down gracefully, then re-raises SIGTERM
    assert [pid for pid in browser if alive(pid)] == [], "Chromium outlived the server"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not collected it
