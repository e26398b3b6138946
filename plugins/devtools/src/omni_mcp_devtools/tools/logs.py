"""Console messages and network requests of your context, paginated; one request with headers and bodies."""

from __future__ import annotations

from typing import Annotated, Any

from playwright.async_api import Error as PlaywrightError
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.tools.common import (
    READ_ONLY,
    ContextName,
    PageIdx,
    PageSize,
    as_json,
    keep,
    paginate,
    session_of,
    tool,
)

BODY_CHARS = 10_000
BODY_MARKER = "\n… [body truncated: {shown} of {total} bytes shown; the full body is at {uri}]"

Levels = Annotated[
    list[str] | None,
    Field(max_length=20, description="Only these levels, e.g. ['error', 'warning'] (log, info, debug, ...)"),
]
Types = Annotated[
    list[str] | None,
    Field(
        max_length=20, description="Only these resource types, e.g. ['xhr', 'fetch', 'document', 'script']"
    ),
]
PageFilter = Annotated[int | None, Field(description="Only this page's entries")]


@tool(annotations=READ_ONLY)
async def list_console_messages(
    ctx: CallContext,
    levels: Levels = None,
    page: PageFilter = None,
    page_idx: PageIdx = 0,
    page_size: PageSize = 50,
    context: ContextName = None,
) -> ToolResult:
    """Console messages and uncaught errors of your context's pages, newest last, paginated."""
    session = await session_of(ctx, context)
    entries = [
        {k: v for k, v in m.items() if k != "location"}
        for m in session.console
        if (levels is None or m["level"] in levels) and (page is None or m["page"] == page)
    ]
    result = paginate(entries, page_idx, page_size)
    lines = [f"#{m['id']} [{m['level']}] page {m['page']}: {m['text'][:300]}" for m in result["items"]]
    header = f"{result['total']} message(s); showing page {page_idx} ({len(result['items'])})"
    return ToolResult(text="\n".join([header, *lines]), structured=result)


@tool(annotations=READ_ONLY)
async def get_console_message(
    ctx: CallContext, id: Annotated[int, Field(ge=1, description="Message id")], context: ContextName = None
) -> ToolResult:
    """One console message in full, with its source location."""
    session = await session_of(ctx, context)
    for message in session.console:
        if message["id"] == id:
            return ToolResult(text=as_json(message), structured=message)
    raise ToolError(f"No console message {id} in this context")


@tool(annotations=READ_ONLY)
async def list_network_requests(
    ctx: CallContext,
    resource_types: Types = None,
    page: PageFilter = None,
    page_idx: PageIdx = 0,
    page_size: PageSize = 50,
    context: ContextName = None,
) -> ToolResult:
    """The requests your context's pages made (status, type, failures such as blocked by policy),
    paginated."""
    session = await session_of(ctx, context)
    entries = [
        e.summary()
        for e in session.network
        if (resource_types is None or e.resource_type in resource_types) and (page is None or e.page == page)
    ]
    result = paginate(entries, page_idx, page_size)
    lines = [
        f"#{e['id']} {e['method']} {e['url'][:200]} [{e['type']}] "
        + (str(e["status"]) if e["status"] is not None else (e["failure"] or "pending"))
        for e in result["items"]
    ]
    header = f"{result['total']} request(s); showing page {page_idx} ({len(result['items'])})"
    return ToolResult(text="\n".join([header, *lines]), structured=result)


@tool(annotations=READ_ONLY)
async def get_network_request(
    ctx: CallContext,
    id: Annotated[int, Field(ge=1, description="Request id from devtools_list_network_requests")],
    max_body_chars: Annotated[int, Field(ge=0, le=200_000)] = BODY_CHARS,
    context: ContextName = None,
) -> ToolResult:
    """One request with its headers, request body and response body (cut at max_body_chars with a marker;
    the full body is then a resource)."""
    session = await session_of(ctx, context)
    entry = session.network_entry(id)
    request = entry.request
    detail: dict[str, Any] = entry.summary()
    if request is not None:
        detail["request_headers"] = await request.all_headers()
        post = request.post_data_buffer
        if post is not None:
            detail["request_body"] = _body(ctx, post, max_body_chars, "request body")
        response = await request.response()
        if response is not None:
            detail["status"] = response.status
            detail["response_headers"] = await response.all_headers()
            try:
                body = await response.body()
            except PlaywrightError as error:
                detail["response_body_error"] = str(error).splitlines()[0]
            else:
                detail["response_body"] = _body(
                    ctx, body, max_body_chars, f"response body of {entry.url[:200]}"
                )
    return ToolResult(text=as_json(detail, 4 * max_body_chars + 20_000), structured=detail)


def _body(ctx: CallContext, data: bytes, max_chars: int, description: str) -> str:
    text = data.decode("utf-8", errors="replace")
    if len(text) <= max_chars:
        return text
    artefact = keep(ctx, "application/octet-stream", data, description)
    return text[:max_chars] + BODY_MARKER.format(shown=max_chars, total=len(data), uri=artefact.uri)
