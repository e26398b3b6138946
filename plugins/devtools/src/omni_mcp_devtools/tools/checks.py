"""Checks: verify text visible, element visible, or a value. Outcomes are kept as the organization's
test results (devtools://results)."""

from __future__ import annotations

from typing import Annotated, Any

from playwright.async_api import Locator
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import Field

from omni_mcp import CallContext, ToolResult
from omni_mcp_devtools import results
from omni_mcp_devtools.session import PageState
from omni_mcp_devtools.tools.common import READ_ONLY, ContextName, PageId, Uid, session_of, tool

Timeout = Annotated[float, Field(ge=0, le=60, description="Seconds to wait for it to become true")]


async def _visible(locator: Locator, seconds: float) -> bool:
    try:
        await locator.first.wait_for(state="visible", timeout=seconds * 1000)
    except PlaywrightTimeout:
        return False
    return True


async def _outcome(
    ctx: CallContext, state: PageState, check: str, passed: bool, expected: Any, actual: Any = None
) -> ToolResult:
    outcome = {
        "check": check,
        "passed": passed,
        "expected": expected,
        "actual": actual,
        "page_url": state.page.url,
    }
    uri = await results.record(ctx, outcome)
    verdict = "PASSED" if passed else "FAILED"
    detail = "" if passed or actual is None else f" (found {actual!r})"
    return ToolResult(
        text=f"{verdict}: {check} {expected!r}{detail}.",
        structured=outcome | {"uri": uri},
        is_error=not passed,
    )


@tool(annotations=READ_ONLY)
async def verify_text_visible(
    ctx: CallContext,
    text: Annotated[str, Field(min_length=1, max_length=1000)],
    timeout: Timeout = 2.0,  # noqa: ASYNC109 - a tool argument, handed to Playwright
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Check that a text is visible on the page (fails the call if not); the outcome is recorded."""
    session = await session_of(ctx, context)
    state = session.page(page)
    passed = await _visible(state.page.get_by_text(text), timeout)
    return await _outcome(ctx, state, "text visible", passed, text)


@tool(annotations=READ_ONLY)
async def verify_element_visible(
    ctx: CallContext,
    role: Annotated[str, Field(min_length=1, max_length=40, description="ARIA role, e.g. button, heading")],
    name: Annotated[str, Field(max_length=1000, description="Its accessible name")],
    timeout: Timeout = 2.0,  # noqa: ASYNC109 - a tool argument, handed to Playwright
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Check that an element of this role and accessible name is visible; the outcome is recorded."""
    session = await session_of(ctx, context)
    state = session.page(page)
    locator = state.page.get_by_role(role, name=name)  # type: ignore[arg-type]
    passed = await _visible(locator, timeout)
    return await _outcome(ctx, state, f"{role} visible", passed, name)


@tool(annotations=READ_ONLY)
async def verify_value(
    ctx: CallContext,
    uid: Uid,
    value: Annotated[
        str, Field(max_length=100_000, description="The value (or text) the element should have")
    ],
    context: ContextName = None,
) -> ToolResult:
    """Check a form field's value (or an element's text); the outcome is recorded."""
    session = await session_of(ctx, context)
    state, locator = await session.element(uid)
    actual = await locator.evaluate(
        "e => ('value' in e && typeof e.value === 'string') ? e.value : (e.textContent || '').trim()"
    )
    return await _outcome(ctx, state, f"value of {uid}", actual == value, value, actual)
