"""The devtools tool group, and what every tool shares: finding the caller's session, turning browser
errors into clear tool errors, bounding output."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

import mcp.types as types
from playwright.async_api import Dialog
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolGroup, ToolResult
from omni_mcp_devtools.artefacts import Artefact
from omni_mcp_devtools.browser import browsers, describe_browser_error
from omni_mcp_devtools.session import PageState, Session

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

devtools = ToolGroup(
    "devtools", description="Browser automation in headless Chromium: one sealed browser context per caller"
)

SNAPSHOT_CHARS = 20_000
TRUNCATED = "\n… [truncated: {shown} of {total} characters shown; the full text is at {uri}]"

ContextName = Annotated[
    str | None,
    Field(
        description="A named browser context of yours, to run several isolated sessions at once "
        "(default: your default context)",
        max_length=64,
    ),
]
PageId = Annotated[
    int | None, Field(description="Page id from devtools_list_pages (default: the selected page)")
]
Uid = Annotated[str, Field(description="Element id from devtools_take_snapshot, e.g. 1.2.e5", max_length=40)]
IncludeSnapshot = Annotated[
    bool, Field(description="Return a fresh accessibility snapshot of the page after the action")
]
PageIdx = Annotated[int, Field(ge=0, description="Which page of results (0-based)")]
PageSize = Annotated[int, Field(ge=1, le=200, description="Results per page")]

READ_ONLY = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
ACTS = types.ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)


def tool(**options: Any) -> Callable[[F], F]:
    """Register a devtools tool whose browser errors become clear tool errors (never a crash)."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except ToolError:
                raise
            except PlaywrightTimeout as error:
                raise ToolError(f"Timed out: {_first_line(error)}") from None
            except PlaywrightError as error:
                found = browsers()
                if not found.running:
                    raise ToolError(describe_browser_error(error)) from None
                raise ToolError(f"The browser could not do that: {_first_line(error)}") from None

        devtools.add(guarded, **options)
        return fn

    return register


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


async def session_of(ctx: CallContext, context: str | None = None) -> Session:
    return await browsers().session(ctx, context)


async def snapshot(
    ctx: CallContext, session: Session, state: PageState, max_chars: int = SNAPSHOT_CHARS
) -> str:
    """The page's accessibility tree with element ids, bounded (the whole of it as an artefact if cut)."""
    raw = await state.page.aria_snapshot(mode="ai")
    text = f"Page {state.id}: {state.page.url}\n" + session.annotate(state, raw)
    return bounded(ctx, text, max_chars, "text/plain", f"snapshot of page {state.id}")


def bounded(ctx: CallContext, text: str, max_chars: int, mime_type: str, description: str) -> str:
    if len(text) <= max_chars:
        return text
    artefact = keep(ctx, mime_type, text.encode(), description)
    return text[:max_chars] + TRUNCATED.format(shown=max_chars, total=len(text), uri=artefact.uri)


def keep(ctx: CallContext, mime_type: str, data: bytes, description: str) -> Artefact:
    return browsers().artefacts.add(ctx.actor.organization, ctx.actor.id, mime_type, data, description)


def link(artefact: Artefact, name: str) -> types.ResourceLink:
    return types.ResourceLink(
        uri=artefact.uri,
        name=name,
        description=artefact.description,
        mime_type=artefact.mime_type,
        size=len(artefact.data),
    )


def dialog_note(state: PageState, dialog: Dialog) -> str:
    return (
        f"A {dialog.type} dialog opened on page {state.id}: {dialog.message!r}. "
        "Accept or dismiss it with devtools_handle_dialog; the action completes after that."
    )


async def action_result(
    ctx: CallContext,
    session: Session,
    state: PageState,
    message: str,
    dialog: Dialog | None,
    include_snapshot: bool,
) -> ToolResult:
    text = dialog_note(state, dialog) if dialog is not None else message
    if include_snapshot and dialog is None:
        text += "\n\n" + await snapshot(ctx, session, state)
    return ToolResult(
        text=text, structured={"page": state.id, "url": state.page.url, "dialog": _dialog(dialog)}
    )


def _dialog(dialog: Dialog | None) -> dict[str, str] | None:
    return None if dialog is None else {"type": dialog.type, "message": dialog.message}


def paginate(items: Sequence[dict[str, Any]], page_idx: int, page_size: int) -> dict[str, Any]:
    start = page_idx * page_size
    chosen = list(items[start : start + page_size])
    return {
        "total": len(items),
        "page_idx": page_idx,
        "page_size": page_size,
        "has_more": start + page_size < len(items),
        "items": chosen,
    }


def as_json(data: Any, max_chars: int = SNAPSHOT_CHARS) -> str:
    text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text) > max_chars:
        return text[:max_chars] + f"… [truncated: {max_chars} of {len(text)} characters]"
    return text
