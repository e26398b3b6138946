"""Call plugin code (tool handlers, prompt renderers, resource readers, completers, hooks) safely.

- Synchronous code runs in a bounded worker pool, so it never blocks the event loop and a timeout
  answers on time.
- Asynchronous code runs on the loop with each step watched, so one that never yields is logged by name.
- SystemExit, KeyboardInterrupt and a stray CancelledError become a PluginEscape, reported as the
  plugin's failure; the server keeps serving.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from omni_mcp.isolation.escapes import contained
from omni_mcp.isolation.watchdog import LoopWatchdog
from omni_mcp.isolation.workers import WorkerPool

DEFAULT_WORKER_THREADS = 16
DEFAULT_STALL_SECONDS = 1.0


class PluginRunner:
    def __init__(
        self, worker_threads: int = DEFAULT_WORKER_THREADS, stall_seconds: float = DEFAULT_STALL_SECONDS
    ) -> None:
        self.workers = WorkerPool(worker_threads)
        self.watchdog = LoopWatchdog(stall_seconds)

    async def run(self, what: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`, sync or async, awaited; `what` names it in logs ("tool 'x'")."""
        with contained():
            if _is_async(fn):
                return await self.watchdog.track(what, fn(*args, **kwargs))
            value = await self.workers.run(functools.partial(fn, *args, **kwargs))
            if inspect.iscoroutine(value):  # a plain function handing back a coroutine
                return await self.watchdog.track(what, value)
            if inspect.isawaitable(value):
                return await value
            return value


def _is_async(fn: Callable[..., Any]) -> bool:
    target = fn.func if isinstance(fn, functools.partial) else fn
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - an object with an async __call__
    )
