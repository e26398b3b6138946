"""Perplexity's HTTP API: chat completions (whole or streamed) and the Search API.

One httpx client per call: keys and base URLs differ per organization, and a call must be able to close
its connection the moment its task is cancelled. Every failure becomes a PerplexityError whose message is
fit to show the user; the API key never appears in one.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx

from omni_mcp import (
    ApiUnavailable,
    RetryPolicy,
    attempts_of,
    error_detail,
    redact_secrets,
    retry_after_seconds,
    send_with_retries,
    upstream_client,
)
from omni_mcp_perplexity import __version__
from omni_mcp_perplexity.models import Completion, StreamAssembler, completion_from_json
from omni_mcp_perplexity.sse import SseEvent, SseParser

T = TypeVar("T")

__all__ = ["Deadline", "PerplexityClient", "PerplexityError", "RetryPolicy", "error_detail"]

CLOSE_GRACE = 2.0
"""Seconds a cancelled call may spend closing its connection (shielded from the cancellation)."""
MAX_DETAIL = 300

ChunkCallback = Callable[[StreamAssembler], Awaitable[None]]
Notice = Callable[[str], None]


class PerplexityError(Exception):
    """A failure explained for the user; `setting` names the organization setting that may fix it."""

    def __init__(self, message: str, *, status: int | None = None, setting: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.setting = setting


@dataclass(frozen=True)
class Deadline:
    """How long one tool's upstream work may take, and which limit set that."""

    seconds: float
    setting: str
    gateway_limit: float | None = None
    """Seconds the gateway's tool_timeout left this call, when that (not the setting) is the tighter bound."""

    def expired(self, what: str) -> PerplexityError:
        if self.gateway_limit is not None:
            return PerplexityError(
                f"{what} did not finish within {self.seconds:g} s: the gateway stops this call after "
                f"{self.gateway_limit:g} s (gateway.tool_timeout). Raise gateway.tool_timeout in the "
                f"server's configuration (and the '{self.setting}' setting) to allow longer runs.",
                setting=None,
            )
        return PerplexityError(
            f"{what} did not finish within {self.seconds:g} s (the '{self.setting}' setting).",
            setting=self.setting,
        )


class PerplexityClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        retry: RetryPolicy | None = None,
        notice: Notice | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._notice = notice or (lambda message: None)
        self._transport = transport

    async def search(self, body: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
        """POST /search: ranked web results, no model involved."""

        async def read(response: httpx.Response) -> dict[str, Any]:
            data = await self._json(response)
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise PerplexityError("Perplexity's search response has no 'results' list.")
            return data

        return await self._post("/search", body, deadline, "The Perplexity search", read)

    async def chat(self, body: dict[str, Any], deadline: Deadline) -> Completion:
        """POST /chat/completions without streaming: one JSON answer."""

        async def read(response: httpx.Response) -> Completion:
            data = await self._json(response)
            try:
                return completion_from_json(data)
            except ValueError as error:
                raise PerplexityError(f"Perplexity's answer has an unexpected shape: {error}.") from None

        return await self._post(
            "/chat/completions", {**body, "stream": False}, deadline, "The Perplexity answer", read
        )

    async def stream_chat(
        self, body: dict[str, Any], deadline: Deadline, on_chunk: ChunkCallback | None = None
    ) -> Completion:
        """POST /chat/completions with `stream: true`, calling `on_chunk` as content arrives.

        Cancelling the calling task closes the upstream connection, which stops Perplexity's work.
        """

        async def read(response: httpx.Response) -> Completion:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                data = await self._json(response)  # a server may answer whole even when asked to stream
                try:
                    return completion_from_json(data)
                except ValueError as error:
                    raise PerplexityError(f"Perplexity's answer has an unexpected shape: {error}.") from None
            return await _read_stream(response, on_chunk)

        return await self._post(
            "/chat/completions", {**body, "stream": True}, deadline, "The Perplexity answer", read
        )

    async def _post(
        self,
        path: str,
        body: dict[str, Any],
        deadline: Deadline,
        what: str,
        read: Callable[[httpx.Response], Awaitable[T]],
    ) -> T:
        # httpx's own timeouts are a backstop; the deadline below is what normally fires.
        http = upstream_client(timeout=deadline.seconds + 5, transport=self._transport)
        try:
            with anyio.fail_after(deadline.seconds):
                response = await self._send(http, path, body, anyio.current_time() + deadline.seconds)
                try:
                    return await read(response)
                finally:
                    with anyio.move_on_after(CLOSE_GRACE, shield=True):
                        await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise deadline.expired(what) from None
        except httpx.HTTPError as error:
            raise PerplexityError(
                f"The connection to Perplexity at {self.base_url} failed: {_describe(error)}."
            ) from None
        finally:
            with anyio.move_on_after(CLOSE_GRACE, shield=True):
                await http.aclose()

    async def _send(
        self, http: httpx.AsyncClient, path: str, body: dict[str, Any], give_up_at: float
    ) -> httpx.Response:
        """Send, retrying 429/5xx and failed connections while the policy and the deadline allow."""
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "text/event-stream" if body.get("stream") else "application/json",
            "User-Agent": f"omni-mcp-perplexity/{__version__}",
        }

        def retrying(_number: int, wait: float, why: str) -> None:
            self._notice(f"Perplexity: {why}; retrying in {wait:g} s")

        try:
            response = await send_with_retries(
                http,
                lambda: http.build_request("POST", self.base_url + path, json=body, headers=headers),
                retry=self.retry,
                idempotent=False,  # a dropped answer may still have been billed: the caller decides
                stream=True,
                give_up_at=give_up_at,
                on_retry=retrying,
            )
        except ApiUnavailable as error:
            raise PerplexityError(
                f"Cannot connect to Perplexity at {self.base_url}: {error}. "
                "Check the 'base_url' setting and the network.",
                setting="base_url",
            ) from None
        if response.status_code < 300:
            return response
        await response.aread()
        await response.aclose()
        raise self._error(response, path, attempts=attempts_of(response))

    async def _json(self, response: httpx.Response) -> Any:
        raw = await response.aread()
        try:
            return json.loads(raw)
        except ValueError:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise PerplexityError(
                f"Perplexity answered with something that is not JSON (HTTP {response.status_code}, {kind}). "
                "Check the 'base_url' setting.",
                setting="base_url",
            ) from None

    def _error(self, response: httpx.Response, path: str, *, attempts: int) -> PerplexityError:
        status = response.status_code
        label = f"HTTP {status} {response.reason_phrase}".strip()
        detail = redact_secrets(error_detail(response), [self._api_key])
        said = f": {detail}" if detail else ""
        times = f" ({attempts} attempts)" if attempts > 1 else ""
        if status == 401:
            return PerplexityError(
                f"Perplexity rejected the API key ({label}{said}). Check the 'api_key' setting.",
                status=status,
                setting="api_key",
            )
        if status == 403:
            return PerplexityError(
                f"Perplexity refused the request ({label}{said}). The API key may lack access or credit; "
                "check the 'api_key' setting.",
                status=status,
                setting="api_key",
            )
        if status == 404:
            return PerplexityError(
                f"There is no Perplexity endpoint {path} at {self.base_url} ({label}). "
                "Check the 'base_url' setting.",
                status=status,
                setting="base_url",
            )
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            later = f" in {retry_after:g} s" if retry_after is not None else " later"
            return PerplexityError(
                f"Perplexity's rate limit was reached ({label}{said}){times}. Try again{later}.",
                status=status,
            )
        if status >= 500:
            return PerplexityError(f"Perplexity failed ({label}{said}){times}.", status=status)
        if status < 400:
            return PerplexityError(
                f"Perplexity answered with a redirect ({label}) to {response.headers.get('location', '?')}. "
                "Check the 'base_url' setting.",
                status=status,
                setting="base_url",
            )
        return PerplexityError(f"Perplexity rejected the request ({label}{said}).", status=status)


async def _read_stream(response: httpx.Response, on_chunk: ChunkCallback | None) -> Completion:
    parser = SseParser()
    assembler = StreamAssembler()
    done = False
    async for text in response.aiter_text():
        for event in parser.feed(text):
            done = await _take(event, assembler, on_chunk) or done
        if done:
            break
    else:
        for event in parser.close():
            done = await _take(event, assembler, on_chunk) or done
    if assembler.finish_reason is None and not done:
        raise PerplexityError(
            f"Perplexity's stream ended before the answer was complete "
            f"({assembler.length} characters received)."
        )
    return assembler.result()


async def _take(event: SseEvent, assembler: StreamAssembler, on_chunk: ChunkCallback | None) -> bool:
    """Fold one event in; True at the `[DONE]` sentinel."""
    data = event.data.strip()
    if data == "[DONE]":
        return True
    if not data:
        return False
    try:
        chunk = json.loads(data)
    except ValueError:
        raise PerplexityError("Perplexity's stream carried a frame that is not JSON.") from None
    if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
        message = str(chunk["error"].get("message") or "unknown error")[:MAX_DETAIL]
        raise PerplexityError(f"Perplexity reported an error mid-stream: {message}")
    try:
        added = assembler.add(chunk)
    except ValueError as error:
        raise PerplexityError(f"Perplexity's stream is malformed: {error}.") from None
    if added and on_chunk is not None:
        await on_chunk(assembler)
    return False


def _describe(error: httpx.HTTPError) -> str:
    return str(error) or type(error).__name__
