"""Garbage-collector instrumentation shared by both benchmark servers, switched on by the environment.

$OMNI_MCP_BENCH_GC_STATS=1   count collections and time them; the totals are printed as one
                             `GC_STATS {json}` line on stderr when the server stops.
$OMNI_MCP_BENCH_GC_FREEZE=1  after start-up, collect once and `gc.freeze()` what is left, so full
                             collections under load no longer walk every object made at start-up.

Python's full (generation 2) collections walk every tracked object, so they cost more in a process
with a bigger heap; under load they run every second or so and stop the event loop while they do.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette

STATS_ENV = "OMNI_MCP_BENCH_GC_STATS"
FREEZE_ENV = "OMNI_MCP_BENCH_GC_FREEZE"
STATS_PREFIX = "GC_STATS "


class _Recorder:
    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]  # wall time: how long the event loop stood still
        self.cpu_seconds = 0.0  # CPU time: what collecting cost (less than wall time on a busy machine)
        self.longest = 0.0
        self._started = 0.0
        self._started_cpu = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._started_cpu = time.process_time()
            return
        elapsed = time.perf_counter() - self._started
        self.cpu_seconds += time.process_time() - self._started_cpu
        generation = info["generation"]
        self.count[generation] += 1
        self.seconds[generation] += elapsed
        self.longest = max(self.longest, elapsed)

    def report(self, tracked_at_start: int, frozen: int) -> dict[str, Any]:
        gc.collect()
        return {
            "tracked_objects_at_start": tracked_at_start,
            "tracked_objects_at_stop": len(gc.get_objects()),  # after a full collection: what is kept
            "frozen_objects": frozen,
            "collections": self.count,
            "seconds": [round(value, 4) for value in self.seconds],
            "cpu_seconds": round(self.cpu_seconds, 4),
            "longest_pause_ms": round(self.longest * 1000, 2),
        }


def instrument(app: Starlette) -> Starlette:
    """Wrap the app's lifespan according to the environment; a no-op when neither variable is set."""
    stats = os.environ.get(STATS_ENV) == "1"
    freeze = os.environ.get(FREEZE_ENV) == "1"
    if not stats and not freeze:
        return app
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started_app: Starlette) -> AsyncIterator[Any]:
        async with inner(started_app) as state:
            if freeze:
                gc.collect()
                gc.freeze()
            recorder = _Recorder()
            tracked = len(gc.get_objects())
            if stats:
                gc.callbacks.append(recorder)
            try:
                yield state
            finally:
                if stats:
                    gc.callbacks.remove(recorder)
                    report = recorder.report(tracked, gc.get_freeze_count())
                    print(STATS_PREFIX + json.dumps(report), file=sys.stderr, flush=True)

    app.router.lifespan_context = lifespan
    return app
