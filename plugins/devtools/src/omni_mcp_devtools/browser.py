"""One Chromium per gateway process: launched on first use, relaunched after it dies, closed at shutdown.

The browser holds one `Session` (a BrowserContext) per (organization, caller, context name). A gateway
process may run several servers in one Python process (tests do), each on its own event loop; Playwright
objects belong to the loop that made them, so there is one `Browsers` per event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import weakref
from dataclasses import dataclass
from typing import Any

from loguru import logger
from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from omni_mcp import CallContext, ToolError
from omni_mcp_devtools.artefacts import Artefacts
from omni_mcp_devtools.policy import UrlPolicy
from omni_mcp_devtools.session import Session, SessionKey
from omni_mcp_devtools.settings import DevToolsSettings

SAFE_ARGS = (
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    # WebRTC's UDP would go around the egress proxy (and so around the network policy).
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
REAP_INTERVAL = 30.0
CONTEXT_NAME_MAX = 64


def launch_args(settings: DevToolsSettings) -> list[str]:
    args = list(SAFE_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return args + list(settings.extra_browser_args)


def settings_of(ctx: CallContext) -> DevToolsSettings:
    if isinstance(ctx.settings, DevToolsSettings):
        return ctx.settings
    if ctx.settings_error:
        raise ToolError(f"The devtools settings of this organization are invalid: {ctx.settings_error}")
    return DevToolsSettings()


def policy_of(settings: DevToolsSettings) -> UrlPolicy:
    return UrlPolicy(
        operator_allowed=tuple(settings.operator_allowed_urls),
        operator_blocked=tuple(settings.operator_blocked_urls),
        organization_allowed=tuple(settings.allowed_urls),
        organization_blocked=tuple(settings.blocked_urls),
    )


@dataclass
class BrowserInfo:
    version: str
    launched_at: float
    launches: int


class BrowserGone(ToolError):
    """The browser process ended while a call used it."""


class Browsers:
    """The browser of one event loop and every caller's session in it."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launch_lock = asyncio.Lock()
        self._session_lock = asyncio.Lock()
        self.sessions: dict[SessionKey, Session] = {}
        self.artefacts = Artefacts()
        self.launches = 0
        self.launched_at = 0.0
        self.last_error: str | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        self._cleanups: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    @property
    def version(self) -> str | None:
        return self._browser.version if self.running and self._browser is not None else None

    def devices(self) -> dict[str, Any]:
        """Playwright's device descriptors (viewport, scale, touch, user agent), by name."""
        return dict(self._playwright.devices) if self._playwright is not None else {}

    async def processes(self) -> list[dict[str, Any]]:
        """The browser's processes (type and pid), as Chromium reports them over CDP."""
        if not self.running or self._browser is None:
            return []
        cdp = await self._browser.new_browser_cdp_session()
        try:
            info = await cdp.send("SystemInfo.getProcessInfo")
        finally:
            await cdp.detach()
        return [{"type": p.get("type"), "pid": p.get("id")} for p in info.get("processInfo", [])]

    async def browser(self, settings: DevToolsSettings) -> Browser:
        if self.running and self._browser is not None:
            return self._browser
        async with self._launch_lock:
            if self.running and self._browser is not None:
                return self._browser
            await self._forget_dead_browser()
            if not os.access(settings.executable_path, os.X_OK):
                raise ToolError(
                    f"No browser at {settings.executable_path}: install Chromium (apt-get install chromium) "
                    "or set executable_path under [plugins.settings.devtools]"
                )
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            try:
                browser = await self._playwright.chromium.launch(
                    executable_path=settings.executable_path,
                    args=launch_args(settings),
                    headless=True,
                    handle_sigint=False,
                    handle_sigterm=False,
                    handle_sighup=False,
                )
            except PlaywrightError as error:
                self.last_error = str(error).splitlines()[0]
                raise ToolError(f"Chromium did not start: {self.last_error}") from None
            browser.on("disconnected", lambda _browser: self._on_disconnected())
            self._browser = browser
            self.launches += 1
            self.launched_at = time.time()
            self.last_error = None
            logger.info("devtools: launched Chromium {} ({} launch(es))", browser.version, self.launches)
            if self._reaper is None:
                interval = min(REAP_INTERVAL, settings.idle_timeout / 2)
                self._reaper = asyncio.get_running_loop().create_task(self._reap_idle(interval))
            return browser

    def _on_disconnected(self) -> None:
        if self._browser is not None and not self._closing:
            logger.warning("devtools: the browser disconnected; the next call relaunches it")
            self.last_error = "the browser process ended"
        for session in self.sessions.values():
            session.closed = True
            # Its proxy and file folder outlive the browser unless released here.
            task = asyncio.get_running_loop().create_task(session.close())
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)
        self.sessions.clear()

    async def _forget_dead_browser(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
            self._browser = None
        self._on_disconnected()

    async def session(self, ctx: CallContext, name: str | None, *, create: bool = True) -> Session:
        """The caller's context named `name` (their default one when None), made on first use."""
        settings = settings_of(ctx)
        key = SessionKey(ctx.actor.organization, ctx.actor.id, _context_name(name))
        existing = self.sessions.get(key)
        if existing is not None and not existing.closed and self.running:
            existing.touch()
            existing.settings = settings
            existing.policy = policy_of(settings)
            return existing
        if not create:
            raise ToolError(f"No open browser context named {key.name!r}")
        browser = await self.browser(settings)
        async with self._session_lock:
            existing = self.sessions.get(key)
            if existing is not None and not existing.closed:
                return existing
            open_here = [s for s in self.sessions.values() if s.key.organization == key.organization]
            if len(open_here) >= settings.max_contexts_per_organization:
                raise ToolError(
                    f"This organization already has {len(open_here)} browser contexts open, its limit "
                    f"(max_contexts_per_organization={settings.max_contexts_per_organization}); "
                    "close one with "
                    "devtools_close_context first"
                )
            try:
                session = await Session.open(browser, key, settings, policy_of(settings))
            except PlaywrightError as error:
                raise BrowserGone(describe_browser_error(error)) from None
            self.sessions[key] = session
            return session

    def sessions_of(self, organization: str, caller: str) -> list[Session]:
        return [
            s
            for s in self.sessions.values()
            if s.key.organization == organization and s.key.caller == caller and not s.closed
        ]

    async def close_session(self, session: Session) -> None:
        self.sessions.pop(session.key, None)
        await session.close()

    async def _reap_idle(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.close_idle()
            except Exception as error:  # the reaper must outlive one failed close
                logger.warning("devtools: closing idle contexts failed: {}", error)

    async def close_idle(self) -> int:
        """Close the contexts idle longer than their organization's idle_timeout; how many were closed."""
        now = time.monotonic()
        idle = [s for s in self.sessions.values() if now - s.last_used > s.settings.idle_timeout]
        for session in idle:
            logger.info("devtools: closing idle context {}", session.key.describe())
            await self.close_session(session)
        return len(idle)

    async def close(self) -> None:
        self._closing = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for session in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await session.close()
        self.sessions.clear()
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
            self._playwright = None

    def state(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "version": self.version,
            "launches": self.launches,
            "contexts": len(self.sessions),
            "pages": sum(len(s.pages) for s in self.sessions.values()),
            "last_error": self.last_error,
        }


def _context_name(name: str | None) -> str:
    if name is None or name == "":
        return "default"
    if len(name) > CONTEXT_NAME_MAX or not all(c.isalnum() or c in "-_." for c in name):
        raise ToolError("A context name is 1-64 letters, digits, '-', '_' or '.'")
    return name


def describe_browser_error(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return (
        f"The browser stopped during this call ({text}); its pages are gone. "
        "The next call starts a fresh browser."
    )


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Browsers] = weakref.WeakKeyDictionary()


def browsers() -> Browsers:
    """The Browsers of the running event loop (the gateway's loop)."""
    loop = asyncio.get_running_loop()
    found = _BY_LOOP.get(loop)
    if found is None:
        found = _BY_LOOP[loop] = Browsers()
    return found


def browsers_of(loop: asyncio.AbstractEventLoop) -> Browsers | None:
    """The Browsers of a given event loop (tests reach a running server's browser this way)."""
    return _BY_LOOP.get(loop)


def browsers_if_any() -> Browsers | None:
    try:
        return _BY_LOOP.get(asyncio.get_running_loop())
    except RuntimeError:
        return None
