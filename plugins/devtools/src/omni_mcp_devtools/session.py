"""One caller's sealed browser context: its pages, console and network logs, dialogs and file folder.

Everything a tool can see of the browser goes through a Session, and a Session only ever holds what its
own BrowserContext produced, so one caller's pages, cookies, storage, logs or dialogs cannot reach another.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger
from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    ConsoleMessage,
    Dialog,
    Download,
    Frame,
    Locator,
    Page,
    Request,
    Route,
    WebSocketRoute,
)
from playwright.async_api import Error as PlaywrightError

from omni_mcp import ToolError
from omni_mcp_devtools.egress import EgressProxy
from omni_mcp_devtools.policy import PolicyRefusal, UrlPolicy
from omni_mcp_devtools.settings import DevToolsSettings

T = TypeVar("T")
CONSOLE_LIMIT = 1000
CONSOLE_TEXT_LIMIT = 10_000
NETWORK_LIMIT = 1000
UID = re.compile(r"^(\d+)\.(\d+)\.((?:f\d+)?e\d+)$")
_REF = re.compile(r"\[ref=((?:f\d+)?e\d+)\]")


@dataclass(frozen=True)
class SessionKey:
    organization: str
    caller: str
    name: str

    def describe(self) -> str:
        return f"{self.organization}/{self.caller}/{self.name}"


@dataclass
class PageState:
    id: int
    page: Page
    generation: int = 1
    """Bumped at each main-frame navigation: element ids of an earlier document are stale."""
    snapshot_generation: int = 0
    crashed: bool = False
    dialog: Dialog | None = None
    dialog_opened: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class NetworkEntry:
    id: int
    page: int | None
    method: str
    url: str
    resource_type: str
    request: Request | None
    status: int | None = None
    failure: str | None = None
    finished: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "page": self.page,
            "method": self.method,
            "url": self.url,
            "type": self.resource_type,
            "status": self.status,
            "failure": self.failure,
        }


class Session:
    def __init__(
        self,
        key: SessionKey,
        context: BrowserContext,
        settings: DevToolsSettings,
        policy: UrlPolicy,
        egress: EgressProxy,
    ) -> None:
        self.key = key
        self.context = context
        self.settings = settings
        self.egress = egress
        self.policy = policy
        self.folder = Path(tempfile.mkdtemp(prefix="omni-devtools-"))
        self.pages: dict[int, PageState] = {}
        self.selected: int | None = None
        self.console: deque[dict[str, Any]] = deque(maxlen=CONSOLE_LIMIT)
        self.network: deque[NetworkEntry] = deque(maxlen=NETWORK_LIMIT)
        self._by_request: dict[Request, NetworkEntry] = {}
        self.downloads: list[dict[str, Any]] = []
        self.emulation: dict[str, Any] = {}
        self.trace: Any = None
        self.cdp_sessions: dict[int, CDPSession] = {}
        self.closed = False
        self.created = time.time()
        self.last_used = time.monotonic()
        self._ids = {"page": 0, "console": 0, "network": 0}
        self._background: set[asyncio.Task[Any]] = set()

    @classmethod
    async def open(
        cls, browser: Browser, key: SessionKey, settings: DevToolsSettings, policy: UrlPolicy
    ) -> Session:
        refusals: list[str] = []
        egress = EgressProxy(policy, refusals.append)
        server = await egress.start()
        try:
            # Loopback too goes through the proxy ("<-loopback>" removes Chromium's implicit bypass).
            context = await browser.new_context(
                service_workers="block",
                accept_downloads=True,
                proxy={"server": server, "bypass": "<-loopback>"},
            )
        except BaseException:
            await egress.close()
            raise
        session = cls(key, context, settings, policy, egress)
        egress.on_refusal = session._on_egress_refusal
        context.set_default_timeout(settings.action_timeout * 1000)
        context.set_default_navigation_timeout(settings.action_timeout * 1000)
        await context.route("**/*", session._route)
        await context.route_web_socket(re.compile(".*"), session._route_web_socket)
        context.on("page", session._on_page)
        context.on("request", session._on_request)
        context.on("response", lambda response: session._on_status(response.request, response.status))
        context.on("requestfinished", session._on_finished)
        context.on("requestfailed", session._on_failed)
        return session

    @property
    def policy(self) -> UrlPolicy:
        return self._policy

    @policy.setter
    def policy(self, value: UrlPolicy) -> None:
        self._policy = value
        self.egress.policy = value

    def _on_egress_refusal(self, reason: str) -> None:
        self._log_console(None, "error", f"blocked by network policy: {reason}", {})

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # the network policy, for every request of every page of this context

    async def _route(self, route: Route) -> None:
        try:
            await self.policy.check(route.request.url)
        except PolicyRefusal as refusal:
            entry = self._by_request.get(route.request)
            if entry is not None:
                entry.failure = f"blocked by policy: {refusal}"
            with contextlib.suppress(PlaywrightError):
                await route.abort("blockedbyclient")
            return
        with contextlib.suppress(PlaywrightError):
            await route.continue_()

    async def _route_web_socket(self, socket: WebSocketRoute) -> None:
        try:
            await self.policy.check(socket.url)
        except PolicyRefusal as refusal:
            self._log_console(None, "error", f"WebSocket refused: {refusal}", {})
            await socket.close(code=1008, reason="blocked by policy")
            return
        socket.connect_to_server()

    # pages

    def _on_page(self, page: Page) -> None:
        self.adopt(page)

    def adopt(self, page: Page) -> PageState:
        """The state of `page`, made the first time the page is seen (by new_page or as a popup)."""
        for state in self.pages.values():
            if state.page is page:
                return state
        state = PageState(self._next("page"), page)
        self.pages[state.id] = state
        if self.selected is None:
            self.selected = state.id
        page.on("console", lambda message: self._on_console(state, message))
        page.on("pageerror", lambda error: self._log_console(state.id, "error", f"Uncaught {error}", {}))
        page.on("dialog", lambda dialog: self._on_dialog(state, dialog))
        page.on("framenavigated", lambda frame: self._on_navigated(state, frame))
        page.on("crash", lambda _page: self._on_crash(state))
        page.on("close", lambda _page: self._on_close(state))
        page.on("download", lambda download: self._spawn(self._save_download(state, download)))
        if len(self.pages) > self.settings.max_pages_per_context:
            # A popup past the limit: refuse it the same way new_page is refused.
            self._log_console(state.id, "warning", "popup closed: the context's page limit is reached", {})
            self._spawn(page.close())
        return state

    async def new_page(self) -> PageState:
        if len(self.pages) >= self.settings.max_pages_per_context:
            raise ToolError(
                f"This context already has {len(self.pages)} pages open, its limit (max_pages_per_context="
                f"{self.settings.max_pages_per_context}); close one with devtools_close_page first"
            )
        page = await self.context.new_page()
        state = self.adopt(page)
        self.selected = state.id
        return state

    def page(self, page_id: int | None = None, *, dialog_ok: bool = False) -> PageState:
        """The page `page_id`, or the selected one. A page with an open dialog is blocked (its scripts
        wait for the dialog), so only tools that deal with the dialog may have it."""
        wanted = page_id if page_id is not None else self.selected
        if wanted is None or wanted not in self.pages:
            if page_id is None:
                raise ToolError("No page is open in this context: open one with devtools_new_page")
            open_ids = ", ".join(str(i) for i in self.pages) or "none"
            raise ToolError(f"No page {page_id} in this context (open pages: {open_ids})")
        state = self.pages[wanted]
        if state.crashed:
            raise ToolError(
                f"Page {state.id} crashed (its renderer process died); close it with devtools_close_page "
                "or open another with devtools_new_page"
            )
        if state.dialog is not None and not dialog_ok:
            raise ToolError(
                f"A {state.dialog.type} dialog is open on page {state.id} ({state.dialog.message!r}): "
                "handle it with devtools_handle_dialog first"
            )
        return state

    async def page_or_new(self, page_id: int | None = None) -> PageState:
        if page_id is None and self.selected is None:
            return await self.new_page()
        return self.page(page_id)

    async def close_page(self, state: PageState) -> None:
        with contextlib.suppress(PlaywrightError):
            await state.page.close()
        self._on_close(state)

    def _on_close(self, state: PageState) -> None:
        self.pages.pop(state.id, None)
        self.cdp_sessions.pop(state.id, None)
        if self.selected == state.id:
            self.selected = next(reversed(self.pages), None) if self.pages else None

    def _on_crash(self, state: PageState) -> None:
        state.crashed = True
        self._log_console(state.id, "error", "the page's renderer process crashed", {})

    def _on_navigated(self, state: PageState, frame: Frame) -> None:
        if frame == state.page.main_frame:
            state.generation += 1

    # element ids taken from snapshots

    def annotate(self, state: PageState, snapshot: str) -> str:
        """Playwright's `[ref=e5]` marks become `[uid=<page>.<document>.e5]` ids the tools accept."""
        state.snapshot_generation = state.generation
        prefix = f"{state.id}.{state.generation}."
        return _REF.sub(lambda m: f"[uid={prefix}{m.group(1)}]", snapshot)

    async def element(self, uid: str) -> tuple[PageState, Locator]:
        match = UID.match(uid)
        if match is None:
            raise ToolError(
                f"{uid!r} is not an element id: take one from devtools_take_snapshot (e.g. 1.2.e5)"
            )
        state = self.page(int(match.group(1)))
        generation = int(match.group(2))
        if generation != state.generation or state.snapshot_generation != state.generation:
            raise ToolError(
                f"Element {uid} is from a stale snapshot: page {state.id} has loaded another document since. "
                "Take a new snapshot (devtools_take_snapshot) and use its ids."
            )
        locator = state.page.locator(f"aria-ref={match.group(3)}")
        if await locator.count() == 0:
            raise ToolError(
                f"Element {uid} is no longer on the page (it was removed since the snapshot). "
                "Take a new snapshot (devtools_take_snapshot) and use its ids."
            )
        return state, locator

    # dialogs: an action that opens one returns at once, the dialog waits for devtools_handle_dialog

    def _on_dialog(self, state: PageState, dialog: Dialog) -> None:
        state.dialog = dialog
        state.dialog_opened.set()

    async def run(
        self, state: PageState, action: Callable[[], Awaitable[T]]
    ) -> tuple[T | None, Dialog | None]:
        """Run a page action; if it opens a dialog first, return that dialog and let the action finish
        once the dialog is handled."""
        if state.dialog is not None:
            raise ToolError(
                f"A {state.dialog.type} dialog is open on page {state.id} ({state.dialog.message!r}): "
                "handle it with devtools_handle_dialog first"
            )
        state.dialog_opened.clear()
        task = asyncio.ensure_future(action())
        opened = asyncio.ensure_future(state.dialog_opened.wait())
        try:
            await asyncio.wait({task, opened}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
        if task.done():
            return task.result(), None
        self._background.add(task)
        task.add_done_callback(self._finished_in_background)
        return None, state.dialog

    def _finished_in_background(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("devtools: a background browser action failed: {}", task.exception())

    def _spawn(self, action: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(action)
        self._background.add(task)
        task.add_done_callback(self._finished_in_background)

    # console

    def _on_console(self, state: PageState, message: ConsoleMessage) -> None:
        location = message.location
        self._log_console(state.id, message.type, message.text, dict(location) if location else {})

    def _log_console(self, page: int | None, level: str, text: str, location: dict[str, Any]) -> None:
        if len(text) > CONSOLE_TEXT_LIMIT:
            text = (
                text[:CONSOLE_TEXT_LIMIT] + f"… [truncated: {CONSOLE_TEXT_LIMIT} of {len(text)} characters]"
            )
        self.console.append(
            {
                "id": self._next("console"),
                "page": page,
                "level": level,
                "text": text,
                "location": location,
                "time": time.time(),
            }
        )

    # network

    def _page_id(self, request: Request) -> int | None:
        try:
            frame = request.frame
        except PlaywrightError:  # service-worker requests have no frame
            return None
        for state in self.pages.values():
            if state.page is frame.page:
                return state.id
        return None

    def _on_request(self, request: Request) -> None:
        entry = NetworkEntry(
            id=self._next("network"),
            page=self._page_id(request),
            method=request.method,
            url=request.url,
            resource_type=request.resource_type,
            request=request,
        )
        if len(self.network) == self.network.maxlen:
            oldest = self.network[0]
            if oldest.request is not None:
                self._by_request.pop(oldest.request, None)
        self.network.append(entry)
        self._by_request[request] = entry

    def _on_status(self, request: Request, status: int) -> None:
        entry = self._by_request.get(request)
        if entry is not None:
            entry.status = status

    def _on_finished(self, request: Request) -> None:
        entry = self._by_request.get(request)
        if entry is not None:
            entry.finished = True

    def _on_failed(self, request: Request) -> None:
        entry = self._by_request.get(request)
        if entry is not None and entry.failure is None:
            entry.failure = request.failure or "failed"

    def network_entry(self, entry_id: int) -> NetworkEntry:
        for entry in self.network:
            if entry.id == entry_id:
                return entry
        raise ToolError(
            f"No request {entry_id} in this context's network log (see devtools_list_network_requests)"
        )

    # files: uploads are read from, and downloads saved to, this context's own folder

    def path_in_folder(self, name: str) -> Path:
        candidate = (self.folder / name).resolve()
        if not candidate.is_relative_to(self.folder.resolve()) or candidate == self.folder.resolve():
            raise ToolError(
                f"{name!r} is outside this context's file folder; uploads may only use files written there "
                "with devtools_write_file or downloaded by the page"
            )
        return candidate

    async def _save_download(self, state: PageState, download: Download) -> None:
        name = Path(download.suggested_filename).name or "download"
        target = self.folder / "downloads" / name
        target.parent.mkdir(exist_ok=True)
        await download.save_as(target)
        self.downloads.append({"page": state.id, "url": download.url, "file": f"downloads/{name}"})

    async def close(self) -> None:
        self.closed = True
        for task in list(self._background):
            task.cancel()
        with contextlib.suppress(PlaywrightError):
            await self.context.close()
        await self.egress.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        return {
            "context": self.key.name,
            "pages": [
                {
                    "id": state.id,
                    "url": state.page.url,
                    "selected": state.id == self.selected,
                    "crashed": state.crashed,
                    "dialog": state.dialog.message if state.dialog else None,
                }
                for state in self.pages.values()
            ],
            "console_messages": len(self.console),
            "network_requests": len(self.network),
            "downloads": list(self.downloads),
            "emulation": dict(self.emulation),
            "idle_seconds": round(time.monotonic() - self.last_used, 1),
        }
