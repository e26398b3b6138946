"""Cookies and storage state of your context: list, set, delete, clear, save and restore."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.browser import browsers
from omni_mcp_devtools.policy import PolicyRefusal
from omni_mcp_devtools.tools.common import ACTS, READ_ONLY, ContextName, as_json, keep, session_of, tool

STATE_MIME = "application/json"
MAX_COOKIES = 300
ORIGIN_PAGE = "<!doctype html><title>restoring storage</title>"


@tool(annotations=READ_ONLY)
async def list_cookies(
    ctx: CallContext,
    urls: Annotated[
        list[str] | None, Field(max_length=20, description="Only cookies sent to these URLs")
    ] = None,
    context: ContextName = None,
) -> ToolResult:
    """The context's cookies (values included: they are your own session's)."""
    session = await session_of(ctx, context)
    cookies = await session.context.cookies(urls or [])
    listed: list[dict[str, Any]] = [dict(c) for c in cookies[:MAX_COOKIES]]
    lines = [f"{c['name']}={str(c['value'])[:80]} ({c['domain']}{c['path']})" for c in listed]
    if len(cookies) > MAX_COOKIES:
        lines.append(f"… [{len(cookies) - MAX_COOKIES} more cookies not shown; filter by urls]")
    return ToolResult(
        text="\n".join(lines) or "No cookies.", structured={"cookies": listed, "total": len(cookies)}
    )


@tool(annotations=ACTS)
async def set_cookie(
    ctx: CallContext,
    name: Annotated[str, Field(min_length=1, max_length=256)],
    value: Annotated[str, Field(max_length=4096)],
    url: Annotated[str, Field(min_length=1, max_length=2048, description="URL the cookie belongs to")],
    http_only: bool = False,
    secure: bool = False,
    same_site: Literal["Strict", "Lax", "None"] = "Lax",
    expires: Annotated[float | None, Field(description="Unix time; a session cookie when absent")] = None,
    context: ContextName = None,
) -> ToolResult:
    """Set a cookie for a URL in your context."""
    session = await session_of(ctx, context)
    cookie: dict[str, Any] = {
        "name": name,
        "value": value,
        "url": url,
        "httpOnly": http_only,
        "secure": secure,
        "sameSite": same_site,
    }
    if expires is not None:
        cookie["expires"] = expires
    await session.context.add_cookies([cookie])  # type: ignore[list-item]
    return ToolResult(text=f"Cookie {name} set for {url}.", structured={"name": name, "url": url})


@tool(annotations=ACTS)
async def delete_cookie(
    ctx: CallContext,
    name: Annotated[str, Field(min_length=1, max_length=256)],
    domain: Annotated[str | None, Field(max_length=253, description="Only on this domain")] = None,
    context: ContextName = None,
) -> ToolResult:
    """Delete the cookies of this name (on one domain, or on all)."""
    session = await session_of(ctx, context)
    before = len(await session.context.cookies())
    if domain is None:
        await session.context.clear_cookies(name=name)
    else:
        await session.context.clear_cookies(name=name, domain=domain)
    removed = before - len(await session.context.cookies())
    return ToolResult(text=f"Deleted {removed} cookie(s) named {name}.", structured={"deleted": removed})


@tool(annotations=ACTS)
async def clear_cookies(ctx: CallContext, context: ContextName = None) -> ToolResult:
    """Delete every cookie of your context."""
    session = await session_of(ctx, context)
    removed = len(await session.context.cookies())
    await session.context.clear_cookies()
    return ToolResult(text=f"Deleted {removed} cookie(s).", structured={"deleted": removed})


@tool(annotations=READ_ONLY)
async def save_storage_state(ctx: CallContext, context: ContextName = None) -> ToolResult:
    """Save the context's cookies and localStorage as a resource, to restore later with
    devtools_restore_storage_state (into this or another of your contexts)."""
    session = await session_of(ctx, context)
    state = await session.context.storage_state()
    data = json.dumps(state).encode()
    artefact = keep(ctx, STATE_MIME, data, f"storage state of context {session.key.name}")
    summary = {
        "state_id": artefact.id,
        "uri": artefact.uri,
        "cookies": len(state["cookies"]),
        "origins": [o["origin"] for o in state["origins"]],
    }
    return ToolResult(text=as_json(summary), structured=summary)


@tool(annotations=ACTS)
async def restore_storage_state(
    ctx: CallContext,
    state_id: Annotated[
        str, Field(min_length=1, max_length=64, description="From devtools_save_storage_state")
    ],
    context: ContextName = None,
) -> ToolResult:
    """Put saved cookies and localStorage back into your context."""
    artefact = browsers().artefacts.get(ctx.actor.organization, ctx.actor.id, state_id)
    if artefact is None or artefact.mime_type != STATE_MIME:
        raise ToolError(
            f"No saved storage state {state_id!r} of yours (save one with devtools_save_storage_state)"
        )
    state = json.loads(artefact.data)
    session = await session_of(ctx, context)
    if state.get("cookies"):
        await session.context.add_cookies(state["cookies"])
    origins = state.get("origins") or []
    for origin in origins:
        url = origin["origin"] + "/"
        try:
            session.policy.check_static(url)
        except PolicyRefusal as refusal:
            raise ToolError(f"Cannot restore storage of {origin['origin']}: {refusal}") from None
        # Serve a blank page for the origin from here, so restoring storage fetches nothing.
        page = await session.context.new_page()
        try:
            await page.route(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/**", _blank)
            await page.goto(url)
            await page.evaluate(
                "items => { for (const {name, value} of items) localStorage.setItem(name, value) }",
                origin.get("localStorage") or [],
            )
        finally:
            await session.close_page(session.adopt(page))
    summary = {"cookies": len(state.get("cookies") or []), "origins": [o["origin"] for o in origins]}
    return ToolResult(text=f"Restored {as_json(summary)}.", structured=summary)


async def _blank(route: Any) -> None:
    await route.fulfill(status=200, content_type="text/html", body=ORIGIN_PAGE)
