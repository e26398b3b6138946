"""Performance: a CDP trace with a summary, page metrics, and PDFs of pages."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.session import PageState, Session
from omni_mcp_devtools.tools.common import (
    ACTS,
    READ_ONLY,
    ContextName,
    PageId,
    as_json,
    keep,
    link,
    session_of,
    tool,
)
from omni_mcp_devtools.tools.emulation import cdp

CATEGORIES = ",".join(
    [
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "disabled-by-default-devtools.timeline.frame",
        "loading",
        "blink.user_timing",
        "v8.execute",
    ]
)
LONG_TASK_MS = 50.0
TRACE_END_TIMEOUT = 30.0


class Trace:
    """A recording in progress on one page: the events the page's own renderer produced."""

    def __init__(self, state: PageState) -> None:
        self.page_id = state.id
        self.events: list[dict[str, Any]] = []
        self.complete = asyncio.Event()

    def collect(self, params: dict[str, Any]) -> None:
        self.events.extend(params.get("value") or [])

    def finished(self, _params: dict[str, Any]) -> None:
        self.complete.set()


def summarize(events: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Main-thread time, long tasks and layout shifts of the traced page; and the events kept.

    Only events of the page's own renderer processes are kept: the browser process records other
    contexts' activity too, and a caller must never see another's."""
    own_pids: set[int] = set()
    for event in events:
        if event.get("name") == "TracingStartedInBrowser":
            for frame in (event.get("args") or {}).get("data", {}).get("frames", []):
                if isinstance(frame.get("processId"), int):
                    own_pids.add(frame["processId"])
    kept = [e for e in events if e.get("pid") in own_pids]
    main_threads = {
        (e.get("pid"), e.get("tid"))
        for e in kept
        if e.get("name") == "thread_name" and (e.get("args") or {}).get("name") == "CrRendererMain"
    }
    tasks = [
        e
        for e in kept
        if e.get("name") == "RunTask" and e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in main_threads
    ]
    durations = [float(e.get("dur", 0)) / 1000 for e in tasks]
    long_tasks = sorted((d for d in durations if d > LONG_TASK_MS), reverse=True)
    shifts = [
        float(((e.get("args") or {}).get("data") or {}).get("score", 0))
        for e in kept
        if e.get("name") == "LayoutShift"
        and not ((e.get("args") or {}).get("data") or {}).get("had_recent_input")
    ]
    summary = {
        "events": len(kept),
        "main_thread_ms": round(sum(durations), 1),
        "tasks": len(durations),
        "long_tasks": len(long_tasks),
        "longest_tasks_ms": [round(d, 1) for d in long_tasks[:5]],
        "layout_shifts": len(shifts),
        "cumulative_layout_shift": round(sum(shifts), 4),
    }
    return summary, kept


@tool(annotations=ACTS)
async def performance_start_trace(
    ctx: CallContext,
    reload: Annotated[
        bool, Field(description="Reload the page once tracing runs, to trace its load")
    ] = False,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Start recording a performance trace (CDP Tracing) of a page; stop it with performance_stop_trace."""
    session = await session_of(ctx, context)
    state = session.page(page)
    if session.trace is not None:
        raise ToolError(
            "A trace is already recording in this context; stop it with devtools_performance_stop_trace"
        )
    client = await cdp(session, state)
    trace = Trace(state)
    client.on("Tracing.dataCollected", trace.collect)
    client.on("Tracing.tracingComplete", trace.finished)
    await client.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReportEvents"})
    session.trace = trace
    if reload:
        await state.page.reload()
    return ToolResult(text=f"Tracing page {state.id}.", structured={"page": state.id, "tracing": True})


@tool(annotations=ACTS)
async def performance_stop_trace(ctx: CallContext, context: ContextName = None) -> ToolResult:
    """Stop the trace: a summary (main-thread time, long tasks, layout shifts); the full trace is a
    resource."""
    session = await session_of(ctx, context)
    trace = session.trace
    if not isinstance(trace, Trace):
        raise ToolError("No trace is recording: start one with devtools_performance_start_trace")
    session.trace = None
    client = await _trace_client(session, trace)
    await client.send("Tracing.end")
    try:
        await asyncio.wait_for(trace.complete.wait(), TRACE_END_TIMEOUT)
    except TimeoutError:
        raise ToolError("The browser did not finish the trace in time") from None
    finally:
        client.remove_listener("Tracing.dataCollected", trace.collect)
        client.remove_listener("Tracing.tracingComplete", trace.finished)
    summary, kept = summarize(trace.events)
    artefact = keep(ctx, "application/json", json.dumps({"traceEvents": kept}).encode(), "performance trace")
    summary["uri"] = artefact.uri
    return ToolResult(text=as_json(summary), structured=summary, content=[link(artefact, "trace.json")])


async def _trace_client(session: Session, trace: Trace) -> Any:
    state = session.pages.get(trace.page_id)
    if state is None:
        raise ToolError("The traced page was closed; the trace is lost")
    return await cdp(session, state)


@tool(annotations=READ_ONLY)
async def performance_metrics(
    ctx: CallContext, page: PageId = None, context: ContextName = None
) -> ToolResult:
    """The page's runtime metrics: DOM nodes, JS heap, layout and style counts and durations, and more."""
    session = await session_of(ctx, context)
    state = session.page(page)
    client = await cdp(session, state)
    await client.send("Performance.enable")
    found = await client.send("Performance.getMetrics")
    metrics = {m["name"]: m["value"] for m in found.get("metrics", [])}
    return ToolResult(text=as_json(metrics), structured={"page": state.id, "metrics": metrics})


@tool(annotations=READ_ONLY)
async def save_pdf(
    ctx: CallContext,
    landscape: bool = False,
    print_background: bool = True,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Print the page to PDF; the PDF is returned as a resource."""
    session = await session_of(ctx, context)
    state = session.page(page)
    data = await state.page.pdf(landscape=landscape, print_background=print_background)
    artefact = keep(ctx, "application/pdf", data, f"PDF of {state.page.url}")
    return ToolResult(
        text=f"PDF of page {state.id}: {len(data)} bytes at {artefact.uri}.",
        structured={"uri": artefact.uri, "bytes": len(data)},
        content=[link(artefact, "page.pdf")],
    )
