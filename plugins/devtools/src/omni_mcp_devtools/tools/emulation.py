"""Emulation: viewport, user agent, color scheme, geolocation, network conditions, CPU, extra headers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from playwright.async_api import CDPSession
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.browser import browsers
from omni_mcp_devtools.session import PageState, Session
from omni_mcp_devtools.tools.common import ACTS, ContextName, PageId, session_of, tool

NETWORK_PRESETS: dict[str, dict[str, float]] = {
    # latency in ms, throughput in bytes per second (as Chrome DevTools' presets)
    "Slow 3G": {"latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000},
    "Fast 3G": {"latency": 563, "downloadThroughput": 180_000, "uploadThroughput": 84_375},
    "Slow 4G": {"latency": 150, "downloadThroughput": 200_000, "uploadThroughput": 93_750},
    "Fast 4G": {"latency": 60, "downloadThroughput": 1_012_500, "uploadThroughput": 168_750},
}


async def cdp(session: Session, state: PageState) -> CDPSession:
    """The page's own CDP session, kept while the page lives (overrides last as long as it is attached)."""
    existing = session.cdp_sessions.get(state.id)
    if existing is None:
        existing = session.cdp_sessions[state.id] = await session.context.new_cdp_session(state.page)
    return existing


def _done(session: Session, state: PageState, what: str, value: Any) -> ToolResult:
    session.emulation[what] = value
    return ToolResult(
        text=f"Page {state.id}: {what} set to {value}.", structured={"page": state.id, what: value}
    )


@tool(annotations=ACTS)
async def emulate_viewport(
    ctx: CallContext,
    width: Annotated[int | None, Field(ge=100, le=7680)] = None,
    height: Annotated[int | None, Field(ge=100, le=4320)] = None,
    device_scale_factor: Annotated[float, Field(gt=0, le=5)] = 1.0,
    mobile: Annotated[bool, Field(description="Emulate a mobile device (meta viewport, touch)")] = False,
    device: Annotated[
        str | None, Field(max_length=100, description="A device by name instead, e.g. 'iPhone 13', 'Pixel 7'")
    ] = None,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Resize the page's viewport, optionally as a mobile screen, or emulate a named device (its viewport,
    scale, touch and user agent)."""
    session = await session_of(ctx, context)
    state = session.page(page)
    if device is not None:
        known = browsers().devices()
        if device not in known:
            close = sorted(name for name in known if device.lower() in name.lower())[:10]
            raise ToolError(
                f"Unknown device {device!r}" + (f"; did you mean one of {close}?" if close else "")
            )
        spec = known[device]
        width, height = spec["viewport"]["width"], spec["viewport"]["height"]
        device_scale_factor, mobile = spec["device_scale_factor"], spec["is_mobile"]
        await (await cdp(session, state)).send(
            "Emulation.setUserAgentOverride", {"userAgent": spec["user_agent"]}
        )
        session.emulation["device"] = device
    if width is None or height is None:
        raise ToolError("Give width and height, or a device")
    await state.page.set_viewport_size({"width": width, "height": height})
    if mobile or device_scale_factor != 1.0:
        await (await cdp(session, state)).send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": device_scale_factor, "mobile": mobile},
        )
    value = {"width": width, "height": height, "device_scale_factor": device_scale_factor, "mobile": mobile}
    return _done(session, state, "viewport", value)


@tool(annotations=ACTS)
async def emulate_user_agent(
    ctx: CallContext,
    user_agent: Annotated[str, Field(min_length=1, max_length=1000)],
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Send another User-Agent (header and navigator.userAgent) from this page."""
    session = await session_of(ctx, context)
    state = session.page(page)
    await (await cdp(session, state)).send("Emulation.setUserAgentOverride", {"userAgent": user_agent})
    return _done(session, state, "user_agent", user_agent)


@tool(annotations=ACTS)
async def emulate_color_scheme(
    ctx: CallContext,
    scheme: Literal["light", "dark", "no-preference"],
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Emulate prefers-color-scheme: light, dark or no preference."""
    session = await session_of(ctx, context)
    state = session.page(page)
    await state.page.emulate_media(color_scheme=scheme)
    return _done(session, state, "color_scheme", scheme)


@tool(annotations=ACTS)
async def emulate_geolocation(
    ctx: CallContext,
    latitude: Annotated[float, Field(ge=-90, le=90)],
    longitude: Annotated[float, Field(ge=-180, le=180)],
    accuracy: Annotated[float, Field(ge=0)] = 10.0,
    context: ContextName = None,
) -> ToolResult:
    """Grant geolocation to the context's pages and report this position."""
    session = await session_of(ctx, context)
    await session.context.grant_permissions(["geolocation"])
    await session.context.set_geolocation(
        {"latitude": latitude, "longitude": longitude, "accuracy": accuracy}
    )
    value = {"latitude": latitude, "longitude": longitude, "accuracy": accuracy}
    session.emulation["geolocation"] = value
    return ToolResult(text=f"Geolocation set to {latitude}, {longitude}.", structured=value)


@tool(annotations=ACTS)
async def emulate_network(
    ctx: CallContext,
    preset: Annotated[
        Literal["No throttling", "Offline", "Slow 3G", "Fast 3G", "Slow 4G", "Fast 4G"] | None,
        Field(description="A Chrome DevTools preset"),
    ] = None,
    latency_ms: Annotated[float | None, Field(ge=0, le=60_000)] = None,
    download_kbps: Annotated[float | None, Field(gt=0)] = None,
    upload_kbps: Annotated[float | None, Field(gt=0)] = None,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Emulate network conditions for a page: a preset, or latency and throughput of your own."""
    session = await session_of(ctx, context)
    state = session.page(page)
    if preset is None and latency_ms is None and download_kbps is None and upload_kbps is None:
        raise ToolError("Give a preset, or latency_ms / download_kbps / upload_kbps")
    conditions: dict[str, Any] = {
        "offline": False,
        "latency": 0,
        "downloadThroughput": -1,
        "uploadThroughput": -1,
    }
    if preset == "Offline":
        conditions["offline"] = True
    elif preset in NETWORK_PRESETS:
        conditions.update(NETWORK_PRESETS[preset])
    if latency_ms is not None:
        conditions["latency"] = latency_ms
    if download_kbps is not None:
        conditions["downloadThroughput"] = download_kbps * 1000 / 8
    if upload_kbps is not None:
        conditions["uploadThroughput"] = upload_kbps * 1000 / 8
    client = await cdp(session, state)
    await client.send("Network.enable")
    await client.send("Network.emulateNetworkConditions", conditions)
    return _done(session, state, "network", preset or conditions)


@tool(annotations=ACTS)
async def emulate_cpu(
    ctx: CallContext,
    rate: Annotated[float, Field(ge=1, le=20, description="Slow-down factor: 1 is none, 4 is a mid phone")],
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Throttle the page's CPU by a factor."""
    session = await session_of(ctx, context)
    state = session.page(page)
    await (await cdp(session, state)).send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return _done(session, state, "cpu_throttling", rate)


@tool(annotations=ACTS)
async def set_extra_headers(
    ctx: CallContext,
    headers: Annotated[dict[str, str], Field(max_length=50, description="Header names and values")],
    context: ContextName = None,
) -> ToolResult:
    """Send these extra HTTP headers with every request of the context (an empty object removes them)."""
    session = await session_of(ctx, context)
    for name in headers:
        if (
            not name
            or any(c in name for c in " :\r\n")
            or name.lower() in {"host", "cookie", "content-length"}
        ):
            raise ToolError(f"{name!r} cannot be set as an extra header")
    await session.context.set_extra_http_headers(headers)
    session.emulation["extra_headers"] = sorted(headers)
    return ToolResult(text=f"{len(headers)} extra header(s) set.", structured={"headers": sorted(headers)})
