"""Inspect: accessibility snapshot with element ids, search in it, screenshots, scripts."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

import mcp.types as types
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.tools.common import (
    ACTS,
    READ_ONLY,
    SNAPSHOT_CHARS,
    ContextName,
    PageId,
    as_json,
    keep,
    link,
    session_of,
    snapshot,
    tool,
)

MAX_INLINE_IMAGE = 512 * 1024
"""Screenshots up to this size are returned inline as image content; larger ones only as a resource."""
MAX_MATCHES = 100


@tool(annotations=READ_ONLY)
async def take_snapshot(
    ctx: CallContext,
    max_chars: Annotated[
        int, Field(ge=500, le=200_000, description="Cut the snapshot at this length")
    ] = SNAPSHOT_CHARS,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """The page's accessibility tree. Each element has an id (uid=1.2.e5) that action tools take; ids stay
    the same across snapshots of the same element and go stale when the page loads another document."""
    session = await session_of(ctx, context)
    state = session.page(page)
    text = await snapshot(ctx, session, state, max_chars)
    return ToolResult(
        text=text, structured={"page": state.id, "url": state.page.url, "generation": state.generation}
    )


@tool(annotations=READ_ONLY)
async def find_in_snapshot(
    ctx: CallContext,
    query: Annotated[
        str, Field(min_length=1, max_length=500, description="Text to look for (case-insensitive)")
    ],
    role: Annotated[
        str | None, Field(max_length=40, description="Only elements of this role, e.g. button")
    ] = None,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Find elements in the page's accessibility snapshot by name or text (and role), with their ids."""
    session = await session_of(ctx, context)
    state = session.page(page)
    raw = await state.page.aria_snapshot(mode="ai")
    annotated = session.annotate(state, raw)
    needle = query.lower()
    matches = []
    for line in annotated.splitlines():
        entry = line.strip().removeprefix("- ")
        if needle not in entry.lower():
            continue
        if role is not None and not entry.startswith(role):
            continue
        matches.append(entry)
    shown = matches[:MAX_MATCHES]
    text = "\n".join(shown) or f"Nothing in page {state.id} matches {query!r}."
    if len(matches) > MAX_MATCHES:
        text += f"\n… [{len(matches) - MAX_MATCHES} more matches not shown]"
    return ToolResult(text=text, structured={"page": state.id, "matches": shown, "total": len(matches)})


@tool(annotations=READ_ONLY)
async def take_screenshot(
    ctx: CallContext,
    uid: Annotated[str | None, Field(description="Only this element (default: the page)")] = None,
    full_page: Annotated[bool, Field(description="The whole scrollable page, not just the viewport")] = False,
    format: Literal["png", "jpeg"] = "png",
    quality: Annotated[int | None, Field(ge=0, le=100, description="JPEG quality")] = None,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """A screenshot of the page or of one element: inline when small, always also as a resource."""
    session = await session_of(ctx, context)
    options: dict[str, Any] = {"type": format}
    if format == "jpeg" and quality is not None:
        options["quality"] = quality
    if uid is not None:
        state, locator = await session.element(uid)
        data = await locator.screenshot(**options)
    else:
        state = session.page(page)
        data = await state.page.screenshot(full_page=full_page, **options)
    mime = f"image/{format}"
    artefact = keep(ctx, mime, data, f"screenshot of {uid or f'page {state.id}'} ({state.page.url})")
    content: list[types.ContentBlock] = [link(artefact, f"screenshot.{format}")]
    inline = len(data) <= MAX_INLINE_IMAGE
    if inline:
        content.insert(0, types.ImageContent(data=base64.b64encode(data).decode(), mime_type=mime))
    note = "" if inline else f" (too large to inline: {len(data)} bytes; read {artefact.uri})"
    return ToolResult(
        text=f"Screenshot of {uid or f'page {state.id}'}{note}.",
        structured={"uri": artefact.uri, "bytes": len(data), "mime_type": mime, "inline": inline},
        content=content,
    )


@tool(annotations=ACTS)
async def evaluate_script(
    ctx: CallContext,
    function: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100_000,
            description="A JavaScript function, e.g. '() => document.title' or '(el) => el.value' with uid",
        ),
    ],
    args: Annotated[
        list[Any] | None, Field(max_length=20, description="JSON arguments for the function")
    ] = None,
    uid: Annotated[
        str | None, Field(description="Pass this element as the function's first argument")
    ] = None,
    max_chars: Annotated[int, Field(ge=100, le=200_000)] = SNAPSHOT_CHARS,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Run a JavaScript function in the page and return its JSON-serializable result."""
    session = await session_of(ctx, context)
    arguments = list(args or [])
    if uid is not None:
        state, locator = await session.element(uid)
        handle = await locator.element_handle()
        if handle is None:
            raise ToolError(f"Element {uid} is gone")
        call = lambda: state.page.evaluate(  # noqa: E731
            f"([el, args]) => ({function})(el, ...args)", [handle, arguments]
        )
    else:
        state = session.page(page)
        call = lambda: state.page.evaluate(f"(args) => ({function})(...args)", arguments)  # noqa: E731
    value, dialog = await session.run(state, call)
    if dialog is not None:
        return ToolResult(
            text=f"A {dialog.type} dialog opened: {dialog.message!r}; handle it with devtools_handle_dialog.",
            structured={"dialog": {"type": dialog.type, "message": dialog.message}},
        )
    text = as_json(value, max_chars)
    structured = (
        {"result": value} if len(json.dumps(value, default=str)) <= max_chars else {"truncated": True}
    )
    return ToolResult(text=text, structured=structured)
