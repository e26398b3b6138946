"""A bounded pool of threads for plugins' synchronous code, so a blocking call never blocks the loop.

A call waiting for a free thread, or running in one, can be abandoned (the tool timeout): its caller gets
its answer on time while the thread finishes in the background. An abandoned thread keeps its place in
the pool until it really ends, so a plugin that blocks forever fills at most the pool, never the machine.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


@dataclass
class _LoopLimits:
    running: anyio.CapacityLimiter  # threads really busy with plugin code, abandoned ones included
    dispatch: anyio.CapacityLimiter  # anyio's own bookkeeping, kept apart from its default limiter


class WorkerPool:
    def __init__(self, size: int) -> None:
        self.size = size
        self._limits: weakref.WeakKeyDictionary[AbstractEventLoop, _LoopLimits] = weakref.WeakKeyDictionary()

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` in a worker thread; cancelling the caller abandons it (the thread runs on)."""
        limits = self._limits_here()
        borrower = object()
        await limits.running.acquire_on_behalf_of(borrower)  # cancellable while every thread is busy
        loop = get_running_loop()
        lock = threading.Lock()
        state = ["waiting"]  # -> "running" (the thread frees its place) or "dropped" (we free it)

        def free_place() -> None:
            # Without waiting for the loop: the thread is done either way.
            with contextlib.suppress(RuntimeError):  # RuntimeError: the loop has ended, nothing to free
                loop.call_soon_threadsafe(limits.running.release_on_behalf_of, borrower)

        def work() -> T:
            with lock:
                if state[0] == "dropped":
                    raise anyio.get_cancelled_exc_class()()
                state[0] = "running"
            try:
                return call()
            finally:
                free_place()

        try:
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=limits.dispatch)
        finally:
            with lock:
                never_started = state[0] == "waiting"
                if never_started:
                    state[0] = "dropped"
            if never_started:
                limits.running.release_on_behalf_of(borrower)

    def busy(self) -> int:
        """Threads busy with plugin code on this event loop (abandoned ones included)."""
        return int(self._limits_here().running.borrowed_tokens)

    def _limits_here(self) -> _LoopLimits:
        loop = get_running_loop()
        limits = self._limits.get(loop)
        if limits is None:
            limits = _LoopLimits(anyio.CapacityLimiter(self.size), anyio.CapacityLimiter(self.size))
            self._limits[loop] = limits
        return limits
