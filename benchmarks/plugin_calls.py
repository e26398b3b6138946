"""What running plugin code through omni_mcp.isolation costs per call, against calling it directly.

    python benchmarks/plugin_calls.py [calls]

Prints microseconds per call for an async and a sync handler, called directly (sync code on the event
loop, as before) and through PluginRunner (async code step-tracked, sync code in the worker pool).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from omni_mcp.isolation.runner import PluginRunner


async def async_handler(a: int, b: int) -> int:
    await anyio.lowlevel.checkpoint()
    return a + b


def sync_handler(a: int, b: int) -> int:
    return a + b


async def per_call_us(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(min(calls, 200)):  # warm up (threads started, caches filled)
        await call()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int) -> None:
    runner = PluginRunner()

    async def direct_sync() -> int:
        return sync_handler(1, 2)

    rows = [
        ("async handler, direct", lambda: async_handler(1, 2)),
        ("async handler, PluginRunner", lambda: runner.run("tool 'a'", async_handler, 1, 2)),
        ("sync handler, direct on the loop", direct_sync),
        ("sync handler, PluginRunner (worker)", lambda: runner.run("tool 's'", sync_handler, 1, 2)),
    ]
    for label, call in rows:
        print(f"{label:40s} {await per_call_us(call, calls):8.1f} us/call")


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
