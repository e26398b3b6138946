"""One long-lived session with one upstream MCP server, for one organization.

A supervisor task owns the SDK client (its context must be entered and left in one task): it connects on
first use, lists the upstream's tools, prompts and resources, relays the upstream's change notifications,
reconnects with exponential backoff after a failure, and stops an idle stdio process. Callers share the
session; while the upstream is down (and its backoff has not run out) they fail at once.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import anyio.to_thread
import mcp.types as types
from loguru import logger
from mcp import Client, StdioServerParameters
from mcp.client.session import IncomingMessage
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from omni_mcp.federation.policy import UpstreamPolicy

State = Literal["idle", "connecting", "ready", "down", "closed"]

MAX_WATCHED_RESOURCES = 100  # resources of one upstream whose updates are relayed
_CONNECTION_CLOSED = -32000  # the SDK's code for a request whose connection went away
_CHANGE_NOTIFICATIONS = (
    types.ToolListChangedNotification,
    types.PromptListChangedNotification,
    types.ResourceListChangedNotification,
)


class UpstreamUnavailable(Exception):
    """The upstream cannot serve now; the message says why and is safe to show the caller."""


@dataclass(frozen=True)
class UpstreamSpec:
    """Everything needed to reach one upstream (secrets decrypted). Equal specs share a connection."""

    organization_id: int
    slug: str
    name: str
    kind: str
    url: str | None = None
    command: str | None = None
    args: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Listing:
    tools: list[types.Tool] = field(default_factory=list)
    prompts: list[types.Prompt] = field(default_factory=list)
    resources: list[types.Resource] = field(default_factory=list)
    templates: list[types.ResourceTemplate] = field(default_factory=list)


class UpstreamConnection:
    def __init__(
        self,
        spec: UpstreamSpec,
        policy: UpstreamPolicy,
        *,
        connect_timeout: float,
        idle_seconds: float,
        max_backoff: float,
        on_change: Callable[[UpstreamConnection], Awaitable[None]],
        on_resource_updated: Callable[[UpstreamConnection, str], Awaitable[None]] | None = None,
    ) -> None:
        self.spec = spec
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self.on_change = on_change
        self.on_resource_updated = on_resource_updated
        self.state: State = "idle"
        self.detail = ""
        self.listing: Listing | None = None
        self.protocol_version: str | None = None
        self.connects = 0
        self._client: Client | None = None
        self._wanted = anyio.Event()
        self._settled = anyio.Event()
        self._broken = anyio.Event()
        self._refresh_wanted = anyio.Event()
        self._closing = False
        self._failures = 0
        self._retry_at = 0.0
        self._last_used = time.monotonic()
        self._in_flight = 0
        self._closed = anyio.Event()

    @property
    def name(self) -> str:
        return self.spec.name

    # -- the supervisor -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the session up while it is wanted; return once closed. Runs in the federation's tasks."""
        try:
            while not self._closing:
                await self._wanted.wait()
                if self._closing:
                    break
                if not self._down():  # retrying after a failure still reads "down" until it succeeds
                    self.state = "connecting"
                try:
                    await self._session()
                except Exception as error:
                    self._failed(_describe(error))
                else:
                    if not self._down():
                        self.state = "idle"  # stopped on purpose (idle); the next use starts it again
                finally:
                    self._client = None
                    self._broken = anyio.Event()
                    self._settle()
                if self._down() and not self._closing:
                    with anyio.move_on_after(max(0.0, self._retry_at - time.monotonic())):
                        await self._closed.wait()
        finally:
            self.state = "closed"
            self._settle()

    async def _session(self) -> None:
        # One deadline over connecting and the first listing, lifted once the session is up: the client's
        # own task group lives inside this scope, so the timeout cannot be a narrower scope of its own.
        with anyio.CancelScope(deadline=anyio.current_time() + self.connect_timeout) as connecting:
            await self._check_policy()
            async with self._open() as client:
                listing = await _list_everything(client)
                connecting.deadline = math.inf
                await self._serve(client, listing)
        if connecting.cancelled_caught:
            raise TimeoutError

    async def _serve(self, client: Client, listing: Listing) -> None:
        self._broken = anyio.Event()  # whatever broke an earlier session is behind us
        self._client = client
        self.protocol_version = client.protocol_version
        changed = self.listing is not None and listing != self.listing
        self.listing = listing
        self.state, self.detail, self._failures = "ready", "", 0
        self._last_used = time.monotonic()
        self.connects += 1
        self._settle()
        if changed:
            await self.on_change(self)
        async with anyio.create_task_group() as tasks:
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                tasks.start_soon(self._listen_modern, client)
            else:
                tasks.start_soon(self._subscribe_legacy, client)
            tasks.start_soon(self._refresh_on_request, client)
            try:
                await self._until_done()
            finally:  # no new caller may pick up the session being closed
                self._client = None
                self.state = "idle"
            tasks.cancel_scope.cancel()

    async def _check_policy(self) -> None:
        spec = self.spec
        if spec.kind == "http":
            assert spec.url is not None
            await anyio.to_thread.run_sync(self.policy.check_resolved, spec.url, abandon_on_cancel=True)
        else:
            assert spec.command is not None
            self.policy.check_command(spec.command)

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[Client]:
        spec = self.spec
        async with contextlib.AsyncExitStack() as stack:
            if spec.kind == "http":
                assert spec.url is not None
                http = await stack.enter_async_context(create_mcp_http_client(headers=dict(spec.headers)))
                transport: Any = streamable_http_client(spec.url, http_client=http)
            else:
                assert spec.command is not None
                params = StdioServerParameters(command=spec.command, args=list(spec.args), env=dict(spec.env))
                transport = stdio_client(params, errlog=sys.stderr)
            client = Client(
                transport,
                mode="auto",  # the upstream's era is negotiated on its own, whatever the caller speaks
                cache=None,  # lists are cached here and refreshed on change notifications
                message_handler=self._on_message,
                client_info=types.Implementation(name="omni-mcp-federation", version="1"),
            )
            await stack.enter_async_context(client)
            yield client

    async def _until_done(self) -> None:
        """Wait until the session broke, is closing, or (stdio) sat idle long enough to stop."""
        while not self._closing and not self._broken.is_set():
            idle_for = time.monotonic() - self._last_used
            if self.spec.kind == "stdio" and self._in_flight == 0 and idle_for >= self.idle_seconds:
                self._wanted = anyio.Event()
                return
            with anyio.move_on_after(max(0.05, self.idle_seconds - idle_for)):
                await self._broken.wait()
        if self._broken.is_set() and not self._closing:
            raise UpstreamUnavailable(self.detail or "the connection was lost")

    async def _listen_modern(self, client: Client) -> None:
        caps = client.server_capabilities
        tools = bool(caps.tools and caps.tools.list_changed)
        prompts = bool(caps.prompts and caps.prompts.list_changed)
        resources = bool(caps.resources and caps.resources.list_changed)
        watched = self._watched_resources(client)
        if not (tools or prompts or resources or watched):
            return
        try:
            async with client.listen(
                tools_list_changed=tools,
                prompts_list_changed=prompts,
                resources_list_changed=resources,
                resource_subscriptions=watched,
            ) as subscription:
                async for event in subscription:
                    if isinstance(event, ResourceUpdated):
                        await self._resource_updated(event.uri)
                    else:
                        self._refresh_wanted.set()
        except Exception as error:  # the session itself reports breakage; the stream is best effort
            logger.debug("upstream {} change stream ended: {}", self.name, _describe(error))

    async def _subscribe_legacy(self, client: Client) -> None:
        """Ask a handshake-era upstream for updates of its resources (relayed to subscribed clients)."""
        for uri in self._watched_resources(client):
            try:
                await client.session.subscribe_resource(uri)
            except Exception as error:  # updates are best effort; the session itself reports breakage
                logger.debug("upstream {} refused a subscription to {}: {}", self.name, uri, _describe(error))
                return

    def _watched_resources(self, client: Client) -> list[str]:
        caps = client.server_capabilities.resources
        if self.on_resource_updated is None or caps is None or not caps.subscribe or self.listing is None:
            return []
        return [str(resource.uri) for resource in self.listing.resources[:MAX_WATCHED_RESOURCES]]

    async def _resource_updated(self, uri: str) -> None:
        if self.on_resource_updated is not None:
            await self.on_resource_updated(self, uri)

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, _CHANGE_NOTIFICATIONS):
            self._refresh_wanted.set()
        elif isinstance(message, types.ResourceUpdatedNotification) and not self._modern():
            await self._resource_updated(str(message.params.uri))  # modern: listen() delivers it once

    async def _refresh_on_request(self, client: Client) -> None:
        while True:
            await self._refresh_wanted.wait()
            self._refresh_wanted = anyio.Event()
            try:
                with anyio.fail_after(self.connect_timeout):
                    listing = await _list_everything(client)
            except Exception as error:
                self._mark_broken(_describe(error))
                return
            if listing != self.listing:
                self.listing = listing
                await self.on_change(self)

    def _failed(self, detail: str) -> None:
        self.state, self.detail = "down", detail
        self._failures += 1
        backoff = min(self.max_backoff, 0.2 * math.pow(2, self._failures - 1))
        self._retry_at = time.monotonic() + backoff
        logger.warning("upstream {} of {} is down: {}", self.name, self.spec.slug, detail)

    def _modern(self) -> bool:
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    def _down(self) -> bool:
        return self.state == "down"

    def _settle(self) -> None:
        self._settled.set()
        self._settled = anyio.Event()

    def _mark_broken(self, detail: str) -> None:
        self.detail = detail
        self._broken.set()

    # -- used by request handlers -------------------------------------------------------------------

    async def ensure(self) -> Client:
        """The live client, connecting first if needed; UpstreamUnavailable at once while it is down."""
        self._last_used = time.monotonic()
        while True:
            if self._client is not None and self.state == "ready":
                return self._client
            if self.state == "closed" or self._closing:
                raise UpstreamUnavailable(f"upstream '{self.name}' was removed")
            if self.state == "down" and time.monotonic() < self._retry_at:
                raise UpstreamUnavailable(f"upstream '{self.name}' is unavailable: {self.detail}")
            settled = self._settled
            failures = self._failures
            self._wanted.set()
            # The connect deadline, plus the grace the SDK gives a failed stdio process to exit.
            with anyio.move_on_after(self.connect_timeout + 5) as waited:
                await settled.wait()
            if waited.cancelled_caught:
                raise UpstreamUnavailable(f"upstream '{self.name}' did not connect in time")
            if self.state == "down" and self._failures > failures:
                raise UpstreamUnavailable(f"upstream '{self.name}' is unavailable: {self.detail}")

    async def ensure_listed(self) -> Listing | None:
        """The upstream's lists, connecting once if they were never fetched (none if that fails).

        Only the first attempt is waited for: once an upstream has failed, loading the organization's
        configuration does not wait for it again (the supervisor keeps retrying in the background)."""
        if self.listing is None and self._failures == 0:
            with contextlib.suppress(UpstreamUnavailable):
                await self.ensure()
        return self.listing

    @contextlib.asynccontextmanager
    async def using(self) -> AsyncIterator[Client]:
        self._in_flight += 1  # from the start: a session coming up for this call is not idle
        try:
            client = await self.ensure()
            yield client
        except MCPError as error:
            if error.code == _CONNECTION_CLOSED:
                self._mark_broken(error.message)
                raise UpstreamUnavailable(f"upstream '{self.name}' went away: {error.message}") from None
            raise
        except (anyio.get_cancelled_exc_class(), TimeoutError, UpstreamUnavailable):
            raise
        except Exception as error:  # transport failure: drop the session; the supervisor reconnects
            self._mark_broken(_describe(error))
            raise UpstreamUnavailable(f"upstream '{self.name}' failed: {_describe(error)}") from None
        finally:
            self._in_flight -= 1
            self._last_used = time.monotonic()

    async def call_tool(
        self, name: str, arguments: dict[str, Any], progress: ProgressFnT | None
    ) -> types.CallToolResult:
        async with self.using() as client:
            return await client.call_tool(name, arguments, progress_callback=progress)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> types.GetPromptResult:
        async with self.using() as client:
            return await client.get_prompt(name, arguments)

    async def read_resource(self, uri: str) -> types.ReadResourceResult:
        async with self.using() as client:
            return await client.read_resource(uri)

    async def close(self) -> None:
        """Stop for good: the session ends and a stdio process is stopped before this returns."""
        self._closing = True
        self._closed.set()
        self._wanted.set()
        self._broken.set()
        while self.state != "closed":
            await self._settled.wait()

    def mark_closed(self) -> None:
        self._closing = True
        self.state = "closed"
        self._closed.set()

    def health(self) -> dict[str, Any]:
        return {
            "organization": self.spec.slug,
            "upstream": self.name,
            "kind": self.spec.kind,
            "state": self.state,
            "detail": self.detail,
            "protocol_version": self.protocol_version,
            "connects": self.connects,
        }


async def _list_everything(client: Client) -> Listing:
    caps = client.server_capabilities
    tools: list[types.Tool] = []
    prompts: list[types.Prompt] = []
    resources: list[types.Resource] = []
    templates: list[types.ResourceTemplate] = []
    if caps.tools is not None:
        tools = await _all_pages(client.list_tools, "tools")
    if caps.prompts is not None:
        prompts = await _all_pages(client.list_prompts, "prompts")
    if caps.resources is not None:
        resources = await _all_pages(client.list_resources, "resources")
        templates = await _all_pages(client.list_resource_templates, "resource_templates")
    return Listing(tools, prompts, resources, templates)


async def _all_pages(fetch: Callable[..., Awaitable[Any]], attribute: str, limit: int = 50) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(limit):  # an upstream that pages forever must not hold us forever
        page = await fetch(cursor=cursor)
        items.extend(getattr(page, attribute))
        cursor = page.next_cursor
        if not cursor:
            break
    return items


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup) and error.exceptions:
        return _describe(error.exceptions[0])
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, MCPError):
        return error.message
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
