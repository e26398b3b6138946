"""Pages and contexts: list, open, select, close, navigate, wait."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.browser import browsers
from omni_mcp_devtools.policy import PolicyRefusal
from omni_mcp_devtools.session import PageState, Session
from omni_mcp_devtools.tools.common import (
    ACTS,
    READ_ONLY,
    ContextName,
    IncludeSnapshot,
    PageId,
    action_result,
    session_of,
    tool,
)

Url = Annotated[
    str, Field(min_length=1, max_length=8192, description="Absolute URL, e.g. https://example.com")
]
WaitUntil = Annotated[
    Literal["load", "domcontentloaded", "networkidle", "commit"],
    Field(description="When the navigation counts as done"),
]


def _pages(session: Session) -> list[dict[str, object]]:
    return [
        {"id": s.id, "url": s.page.url, "selected": s.id == session.selected, "crashed": s.crashed}
        for s in session.pages.values()
    ]


async def check(session: Session, url: str) -> None:
    try:
        await session.policy.check(url)
    except PolicyRefusal as refusal:
        raise ToolError(f"Navigation refused: {refusal}") from None


async def goto(session: Session, state: PageState, url: str, wait_until: str) -> None:
    """Navigate, refusing first what the policy refuses (so the reason is clear, not net::ERR_...)."""
    await check(session, url)
    await state.page.goto(url, wait_until=wait_until)  # type: ignore[arg-type]


@tool(annotations=READ_ONLY)
async def list_pages(ctx: CallContext, context: ContextName = None) -> ToolResult:
    """List the open pages (tabs) of your browser context, with their ids and URLs."""
    session = await session_of(ctx, context)
    pages = _pages(session)
    lines = [f"{p['id']}: {p['url']}{' [selected]' if p['selected'] else ''}" for p in pages]
    return ToolResult(text="\n".join(lines) or "No pages open.", structured={"pages": pages})


@tool(annotations=ACTS)
async def new_page(
    ctx: CallContext,
    url: Url | None = None,
    wait_until: WaitUntil = "load",
    context: ContextName = None,
) -> ToolResult:
    """Open a new page (tab), select it, and optionally load a URL in it."""
    session = await session_of(ctx, context)
    if url:
        await check(session, url)  # before the page exists, so a refused URL leaves no page behind
    state = await session.new_page()
    if url:
        await goto(session, state, url, wait_until)
    return ToolResult(
        text=f"Opened page {state.id} ({state.page.url}); it is now selected.",
        structured={"page": state.id, "url": state.page.url, "pages": _pages(session)},
    )


@tool(annotations=ACTS)
async def select_page(
    ctx: CallContext, page_id: Annotated[int, Field(description="Page id")], context: ContextName = None
) -> ToolResult:
    """Select the page that later tools act on by default, and bring it to the front."""
    session = await session_of(ctx, context)
    state = session.page(page_id, dialog_ok=True)
    session.selected = state.id
    await state.page.bring_to_front()
    return ToolResult(text=f"Selected page {state.id} ({state.page.url}).", structured={"page": state.id})


@tool(annotations=ACTS)
async def close_page(
    ctx: CallContext, page_id: Annotated[int, Field(description="Page id")], context: ContextName = None
) -> ToolResult:
    """Close a page. The last page may be closed too; the next navigation opens a new one."""
    session = await session_of(ctx, context)
    if page_id not in session.pages:
        raise ToolError(f"No page {page_id} in this context")
    await session.close_page(session.pages[page_id])
    return ToolResult(text=f"Closed page {page_id}.", structured={"pages": _pages(session)})


@tool(annotations=ACTS)
async def navigate_page(
    ctx: CallContext,
    type: Annotated[
        Literal["url", "back", "forward", "reload"],
        Field(description="Load a URL, or go back/forward/reload"),
    ] = "url",
    url: Url | None = None,
    wait_until: WaitUntil = "load",
    page: PageId = None,
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Load a URL in a page (a new page when none is open), or go back, forward, or reload."""
    session = await session_of(ctx, context)
    state = await session.page_or_new(page)
    if type == "url" and not url:
        raise ToolError("navigate_page with type 'url' needs a url")
    actions: dict[str, Callable[[], Awaitable[object]]] = {
        "url": lambda: goto(session, state, url or "", wait_until),
        "back": lambda: state.page.go_back(wait_until=wait_until),
        "forward": lambda: state.page.go_forward(wait_until=wait_until),
        "reload": lambda: state.page.reload(wait_until=wait_until),
    }
    _result, dialog = await session.run(state, actions[type])
    title = await state.page.title() if dialog is None else ""
    message = f"Page {state.id} is at {state.page.url}" + (f" ({title!r})" if title else "") + "."
    return await action_result(ctx, session, state, message, dialog, include_snapshot)


@tool(annotations=READ_ONLY)
async def wait_for(
    ctx: CallContext,
    text: Annotated[str | None, Field(description="Wait until this text is visible", max_length=1000)] = None,
    selector: Annotated[
        str | None, Field(description="Or until this CSS selector matches", max_length=1000)
    ] = None,
    state: Annotated[
        Literal["visible", "hidden", "attached", "detached"], Field(description="The state to wait for")
    ] = "visible",
    timeout: Annotated[  # noqa: ASYNC109 - a tool argument, handed to Playwright
        float | None, Field(gt=0, le=120, description="Seconds (default: action_timeout)")
    ] = None,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Wait until a text or a CSS selector is visible (or hidden, attached, detached) on a page."""
    if (text is None) == (selector is None):
        raise ToolError("Give exactly one of text or selector")
    session = await session_of(ctx, context)
    page_state = session.page(page)
    locator = (
        page_state.page.get_by_text(text).first
        if text is not None
        else page_state.page.locator(selector or "").first
    )
    seconds = timeout or session.settings.action_timeout
    await locator.wait_for(state=state, timeout=seconds * 1000)
    what = f"text {text!r}" if text is not None else f"selector {selector!r}"
    return ToolResult(text=f"{what} is {state} on page {page_state.id}.", structured={"page": page_state.id})


@tool(annotations=READ_ONLY)
async def list_contexts(ctx: CallContext) -> ToolResult:
    """List your open browser contexts (each isolated from the others) and their pages."""
    sessions = browsers().sessions_of(ctx.actor.organization, ctx.actor.id)
    described = [s.describe() for s in sessions]
    lines = [f"{d['context']}: {len(d['pages'])} page(s)" for d in described]
    return ToolResult(text="\n".join(lines) or "No contexts open.", structured={"contexts": described})


@tool(annotations=ACTS)
async def close_context(ctx: CallContext, context: ContextName = None) -> ToolResult:
    """Close one of your browser contexts with all its pages, cookies, storage and logs."""
    found = browsers()
    session = await found.session(ctx, context, create=False)
    await found.close_session(session)
    return ToolResult(text=f"Closed context {session.key.name!r}.", structured={"closed": session.key.name})
