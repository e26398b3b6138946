"""Notice when the event loop stops turning (async plugin code that never yields) and say who did it.

Two views of one stall: a thread watches a heartbeat the loop keeps, and logs while the loop is stuck
(the loop itself cannot); and each step of tracked plugin code is timed on the loop, so the step that
held it is logged with its name and duration once it lets go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

import anyio
from loguru import logger

T = TypeVar("T")


class LoopWatchdog:
    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self._running: tuple[str, float] | None = None  # (what, since): the tracked step on the loop now
        self._last_beat = time.monotonic()

    def track(self, what: str, coroutine: Coroutine[Any, Any, T]) -> _Tracked[T]:
        """Await `coroutine` with each of its steps timed and attributed to `what` (e.g. "tool 'x'")."""
        return _Tracked(self, what, coroutine)

    async def watch(self) -> None:
        """Keep the heartbeat and the watching thread going until cancelled."""
        interval = max(self.stall_seconds / 4, 0.01)
        stop = threading.Event()
        watcher = threading.Thread(
            target=self._watch_beats, args=(stop, interval), name="omni-mcp-loop-watchdog", daemon=True
        )
        self._last_beat = time.monotonic()
        watcher.start()
        try:
            while True:
                self._last_beat = time.monotonic()
                await anyio.sleep(interval)
        finally:
            stop.set()

    def _watch_beats(self, stop: threading.Event, interval: float) -> None:
        reported_beat = None
        while not stop.wait(interval):
            beat = self._last_beat
            late = time.monotonic() - beat
            if late < self.stall_seconds or beat == reported_beat:
                continue
            reported_beat = beat  # once per stall
            running = self._running
            culprit = running[0] if running else "code outside any plugin call"
            logger.warning("event loop stalled for {:.1f} s so far, running {}", late, culprit)

    def _step_started(self, what: str) -> tuple[str, float] | None:
        outer = self._running
        self._running = (what, time.monotonic())
        return outer

    def _step_ended(self, what: str, outer: tuple[str, float] | None) -> None:
        running = self._running
        self._running = outer
        if running is not None:
            held = time.monotonic() - running[1]
            if held >= self.stall_seconds:
                logger.warning("{} blocked the event loop for {:.2f} s without yielding", what, held)


class _Tracked(Generic[T]):
    """An awaitable that drives a coroutine step by step, telling the watchdog which step is running."""

    def __init__(self, watchdog: LoopWatchdog, what: str, coroutine: Coroutine[Any, Any, T]) -> None:
        self._watchdog = watchdog
        self._what = what
        self._coroutine = coroutine

    def __await__(self) -> Generator[Any, Any, T]:
        steps = self._coroutine.__await__()
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            outer = self._watchdog._step_started(self._what)
            try:
                yielded = steps.send(sent) if thrown is None else steps.throw(thrown)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
            finally:
                self._watchdog._step_ended(self._what, outer)
            try:
                sent, thrown = (yield yielded), None
            except GeneratorExit:
                self._coroutine.close()
                raise
            except BaseException as error:  # cancellation and the like: the coroutine gets to handle it
                sent, thrown = None, error
