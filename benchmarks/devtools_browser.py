"""DevTools: navigate + snapshot latency through the gateway, and the browser's memory with 1, 10 and 50
concurrent contexts.

    python benchmarks/devtools_browser.py [--rounds 100] [--contexts 1,10,50] [--era 2026-07-28]

A real server (uvicorn in a thread) with the devtools plugin, the test site of the plugin's tests on
loopback (allowed by the operator setting), and the official MCP client. Latency is one
`devtools_navigate_page` followed by one `devtools_take_snapshot`, measured at the client. Memory is the
proportional set size (PSS, shared pages split between processes) of the browser process and all its
children, each context holding one page with the form page loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import mcp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins" / "devtools" / "tests"))

import omni_mcp_devtools.plugin as devtools_plugin
from omni_mcp_devtools.browser import browsers_of
from site_server import serve_site

from omni_mcp.testing import fresh_database_url, make_test_settings, serve_in_thread


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = [root]
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root:
            found.append(pid)
    return found


def pss_mib(pids: list[int]) -> float:
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def latency(url: str, page: str, rounds: int, era: str) -> list[float]:
    timings = []
    async with mcp.Client(url, mode=era) as client:
        await client.call_tool("devtools_navigate_page", {"url": page, "context": "latency"})  # warm up
        for _ in range(rounds):
            started = time.perf_counter()
            navigated = await client.call_tool("devtools_navigate_page", {"url": page, "context": "latency"})
            snapshot = await client.call_tool("devtools_take_snapshot", {"context": "latency"})
            timings.append((time.perf_counter() - started) * 1000)
            assert not navigated.is_error and not snapshot.is_error
        await client.call_tool("devtools_close_context", {"context": "latency"})
    return timings


async def open_contexts(url: str, page: str, first: int, last: int, era: str) -> None:
    async with mcp.Client(url, mode=era) as client:
        for n in range(first, last):
            result = await client.call_tool("devtools_navigate_page", {"url": page, "context": f"m{n}"})
            assert not result.is_error, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--contexts", default="1,10,50")
    parser.add_argument("--era", default="2026-07-28", choices=["legacy", "2026-07-28"])
    args = parser.parse_args()
    steps = [int(n) for n in args.contexts.split(",")]

    with serve_site() as site, fresh_database_url() as database_url:
        operator: dict[str, Any] = {
            "operator_allowed_urls": [site.url + "/*"],
            "max_contexts_per_organization": max(steps) + 1,
        }
        settings = make_test_settings(
            database_url,
            gateway={"tool_timeout": 120.0},
            plugins={"settings": {"devtools": operator}},
        )
        settings = settings.model_copy(
            update={"logging": settings.logging.model_copy(update={"level": "WARNING"})}
        )
        with serve_in_thread(settings, [("devtools", devtools_plugin)]) as gateway:
            page = site.at("/form")
            timings = anyio.run(latency, gateway.mcp_url, page, args.rounds, args.era)
            print(f"navigate + snapshot, {args.rounds} rounds, {args.era}:")
            print(
                f"  p50 {percentile(timings, 0.5):.1f} ms  p99 {percentile(timings, 0.99):.1f} ms  "
                f"mean {statistics.mean(timings):.1f} ms  max {max(timings):.1f} ms"
            )

            found = browsers_of(gateway.app.state.loop)
            assert found is not None
            loop = gateway.app.state.loop
            processes = asyncio.run_coroutine_threadsafe(found.processes(), loop).result(timeout=30)
            browser_pid = next(p["pid"] for p in processes if p["type"] == "browser")
            print(f"browser memory (PSS of the browser process and its children; {os.cpu_count()} CPUs):")
            print(f"  0 contexts: {pss_mib(descendants(browser_pid)):.0f} MiB")
            opened = 0
            for target in steps:
                anyio.run(open_contexts, gateway.mcp_url, page, opened, target, args.era)
                opened = target
                pids = descendants(browser_pid)
                print(f"  {target} contexts: {pss_mib(pids):.0f} MiB in {len(pids)} processes")


if __name__ == "__main__":
    main()
