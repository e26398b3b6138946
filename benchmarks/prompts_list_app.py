"""The server side of `prompts_list.py`: a benchmark-only plugin and the gateway app factory.

Run by the benchmark as ``uvicorn prompts_list_app:create_app --factory --app-dir benchmarks``, with the
whole settings object as JSON in $OMNI_MCP_BENCH_PROMPTS_SETTINGS (the benchmark's own PostgreSQL
database, a throwaway Fernet key, rate limits off, logging at WARNING). The settings are validated
from that JSON alone, so neither a config file nor OMNI_MCP_* variables of the user's shell change
what is measured. $OMNI_MCP_BENCH_GC_THRESHOLD (e.g. ``50000,20,10``), when set, is passed to
``gc.set_threshold`` at start: an experiment knob (`--gc-threshold`), not something the gateway does.

The plugin (registered as ``bench-auth``):

- BENCHMARK ONLY: resolves every request carrying ``x-bench-organization`` to a member of the
  organization that header names, with no credential at all. Anyone who can reach a gateway with this
  plugin can act as any organization: never install it anywhere but in this benchmark.
- contributes a few default template prompts, stored in `default_prompts` and listed to every
  organization next to its own (so a listing merges defaults and the org's rows, as in production);
- serves ``GET /bench/cache-stats``: the org-configuration cache's hit/miss counters, and the database
  connections opened, pool check-outs and SQL statements of the gateway's engine (counted by SQLAlchemy
  events from start-up on), and the full garbage collections since start-up (count and total pause;
  the longest pause since the previous read), so the benchmark can say what a measured run hit, what a
  miss costs, and what garbage collection cost.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from typing import Any

import gc_tools
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

import omni_mcp
from omni_mcp.observability.logging import configure_logging
from omni_mcp.runtime import Runtime

SETTINGS_ENV = "OMNI_MCP_BENCH_PROMPTS_SETTINGS"
GC_THRESHOLD_ENV = "OMNI_MCP_BENCH_GC_THRESHOLD"
PLUGIN_NAME = "bench-auth"
ORGANIZATION_HEADER = "x-bench-organization"
DEFAULT_PROMPT_PREFIX = "bench_default_"
DEFAULT_PROMPTS = 3
CACHE_STATS_PATH = "/bench/cache-stats"
COUNTED = ("db_connects", "db_checkouts", "db_statements")


class BenchPlugin:
    """BENCHMARK ONLY (see the module docstring): header-trusting caller, default prompts, cache stats."""

    def __init__(self) -> None:
        self.database = Counter[str]()
        self.full_collections = 0
        self.full_collection_us = 0  # wall time the event loop stood still in full collections
        self.longest_full_collection_us = 0
        self._collection_started = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._collection_started = time.perf_counter()
            return
        pause = round((time.perf_counter() - self._collection_started) * 1e6)
        self.full_collections += 1
        self.full_collection_us += pause
        self.longest_full_collection_us = max(self.longest_full_collection_us, pause)

    @omni_mcp.hookimpl
    def actor_from_request(self, request: Request) -> omni_mcp.Actor | None:
        # BENCHMARK ONLY: the organization is taken on trust from a plain header. Never do this for real.
        organization = request.headers.get(ORGANIZATION_HEADER)
        if not organization:
            return None
        return omni_mcp.Actor(id="bench-user", organization=organization, role="member", kind="user")

    @omni_mcp.hookimpl
    def register_prompts(self) -> list[omni_mcp.Prompt]:
        return [
            omni_mcp.Prompt(
                f"{DEFAULT_PROMPT_PREFIX}{index}",
                f"Default prompt {index} shipped by the benchmark plugin",
                (omni_mcp.PromptArgument("subject", "what the prompt is about", required=True),),
                template=f"Default prompt {index} about {{subject}}.",
                title=f"Bench default {index}",
            )
            for index in range(1, DEFAULT_PROMPTS + 1)
        ]

    @omni_mcp.hookimpl
    def startup(self, runtime: Runtime) -> None:
        def count(what: str) -> Any:
            def listener(*_args: Any) -> None:
                self.database[what] += 1

            return listener

        event.listen(runtime.engine, "connect", count("db_connects"))
        event.listen(runtime.engine, "checkout", count("db_checkouts"))
        event.listen(runtime.engine, "before_cursor_execute", count("db_statements"))
        gc.callbacks.append(self._on_gc)

    @omni_mcp.hookimpl
    def shutdown(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    @omni_mcp.hookimpl
    def register_routes(self, runtime: Runtime) -> list[BaseRoute]:
        async def cache_stats(request: Request) -> JSONResponse:
            stats = runtime.org_configs.stats
            counters = {"hits": stats.hits, "misses": stats.misses, "invalidations": stats.invalidations}
            collections = {
                "gc_full_collections": self.full_collections,
                "gc_full_collection_us": self.full_collection_us,
                "gc_longest_full_collection_us": self.longest_full_collection_us,
            }
            self.longest_full_collection_us = 0  # the next read reports the longest since this one
            return JSONResponse(counters | {key: self.database[key] for key in COUNTED} | collections)

        return [Route(CACHE_STATS_PATH, cache_stats, methods=["GET"])]


def create_app() -> Starlette:
    """ASGI factory (uvicorn --factory): the real gateway with the benchmark plugin."""
    raw = os.environ.get(SETTINGS_ENV)
    if not raw:
        raise RuntimeError(f"set {SETTINGS_ENV} to the settings as JSON (benchmarks/prompts_list.py does)")
    settings = omni_mcp.Settings.model_validate(json.loads(raw))
    configure_logging(settings.logging)
    threshold = os.environ.get(GC_THRESHOLD_ENV)
    if threshold:
        gc.set_threshold(*(int(value) for value in threshold.split(",")))
    app = omni_mcp.create_app(settings, extra_plugins=[(PLUGIN_NAME, BenchPlugin())])
    return gc_tools.instrument(app)  # GC statistics when the benchmark asks for them
