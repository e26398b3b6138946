"""An async client for Linear's GraphQL API: authentication, retries that respect the rate limits,
cursor pagination, and Linear's error shapes turned into exceptions with messages fit for a user.

One client serves one organization's credential; the tools build one per call, so no key is ever
shared between organizations.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from omni_mcp import (
    ApiUnavailable,
    attempts_of,
    redact_secrets,
    send_with_retries,
    upstream_client,
)
from omni_mcp import (
    RetryPolicy as RetryPolicy,  # the shared policy; re-exported for this plugin's callers
)
from omni_mcp_linear import __version__
from omni_mcp_linear.queries import Document
from omni_mcp_linear.settings import DEFAULT_BASE_URL

Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[int, float, str], Awaitable[None] | None]
"""`(retry_number, delay_seconds, reason)`, called before each wait."""


class LinearError(Exception):
    """A failed Linear request; the message is meant for the user as is (never holds the credential)."""

    code: str | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class LinearAuthError(LinearError):
    """Linear rejected the credential (AUTHENTICATION_ERROR, or HTTP 401)."""

    code = "AUTHENTICATION_ERROR"


class LinearForbiddenError(LinearError):
    """The credential is valid but may not do this (FORBIDDEN, or HTTP 403)."""

    code = "FORBIDDEN"


class LinearNotFoundError(LinearError):
    """The entity asked for does not exist or is not visible to this credential."""


class LinearInputError(LinearError):
    """Linear refused the arguments (INPUT_ERROR / invalid input)."""

    code = "INPUT_ERROR"


class LinearQueryError(LinearError):
    """Linear refused the query itself: a bug in this plugin, not in the caller's input."""


class LinearRateLimitError(LinearError):
    """Still rate limited after every retry."""

    code = "RATELIMITED"


class LinearUnavailableError(LinearError):
    """Linear could not be reached or kept failing (timeouts, 5xx) after every retry."""


@dataclass(frozen=True)
class Credential:
    """A personal API key goes raw into Authorization; an OAuth token goes as 'Bearer <token>'."""

    secret: SecretStr
    bearer: bool = False

    def header(self) -> str:
        value = self.secret.get_secret_value().strip()
        return f"Bearer {value}" if self.bearer else value


LINEAR_RETRY = RetryPolicy(max_retries=3, backoff=0.5, max_wait=10.0)
"""How hard to try by default: retries after 429/RATELIMITED/5xx, first backoff (doubling), longest wait."""
MUTATION_RETRY_STATUSES = frozenset({429, 503})
"""A mutation answered another 5xx may have been applied: it is not sent again."""


@dataclass(frozen=True)
class RateLimit:
    """Linear's `x-ratelimit-*` headers of the latest response (reset times are epoch milliseconds)."""

    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset: float | None = None
    complexity_limit: int | None = None
    complexity_remaining: int | None = None
    complexity_reset: float | None = None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimit:
        def number(name: str) -> float | None:
            try:
                return float(headers[name])
            except (KeyError, ValueError):
                return None

        def integer(name: str) -> int | None:
            value = number(name)
            return int(value) if value is not None else None

        return cls(
            requests_limit=integer("x-ratelimit-requests-limit"),
            requests_remaining=integer("x-ratelimit-requests-remaining"),
            requests_reset=number("x-ratelimit-requests-reset"),
            complexity_limit=integer("x-ratelimit-complexity-limit"),
            complexity_remaining=integer("x-ratelimit-complexity-remaining"),
            complexity_reset=number("x-ratelimit-complexity-reset"),
        )

    def seconds_until_reset(self, now: float) -> float | None:
        """When an exhausted budget refills, from the reset header of whichever budget ran out."""
        resets = []
        if self.requests_remaining is not None and self.requests_remaining <= 0 and self.requests_reset:
            resets.append(self.requests_reset)
        if self.complexity_remaining is not None and self.complexity_remaining <= 0 and self.complexity_reset:
            resets.append(self.complexity_reset)
        if not resets:
            return None
        return max(0.0, max(resets) / 1000 - now)

    def describe(self, now: float) -> str:
        parts = []
        if self.requests_remaining is not None and self.requests_limit is not None:
            parts.append(f"{self.requests_remaining} of {self.requests_limit} requests left")
        if self.complexity_remaining is not None and self.complexity_limit is not None:
            parts.append(f"{self.complexity_remaining} of {self.complexity_limit} complexity points left")
        reset = self.seconds_until_reset(now)
        if reset is not None:
            parts.append(f"the limit resets in {math.ceil(reset)} s")
        return "; ".join(parts)


@dataclass(frozen=True)
class Page:
    """One page of a Linear connection, with the cursor to ask for the next."""

    nodes: list[dict[str, Any]]
    has_next_page: bool
    end_cursor: str | None
    total: float | None = None

    @property
    def next_cursor(self) -> str | None:
        return self.end_cursor if self.has_next_page else None


class LinearClient:
    """Sends GraphQL documents to Linear for one credential. Use as an async context manager."""

    def __init__(
        self,
        credential: Credential,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = anyio.sleep,
        on_retry: OnRetry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry or LINEAR_RETRY
        self.rate_limit = RateLimit()
        self._credential = credential
        self._sleep = sleep
        self._on_retry = on_retry
        self._http = upstream_client(timeout=timeout, transport=transport)
        self._http.headers.update(
            {"user-agent": f"omni-mcp-linear/{__version__}", "accept": "application/json"}
        )

    def __repr__(self) -> str:  # never show the credential
        return f"LinearClient({self.base_url!r})"

    async def __aenter__(self) -> LinearClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def execute(self, document: Document, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one query or mutation and return its `data`, retrying what is safe to retry."""
        body = {"query": document.text, "variables": dict(variables or {}), "operationName": document.name}
        started = time.monotonic()
        retry = self.retry
        if document.mutation:
            retry = dataclasses.replace(retry, statuses=retry.statuses & MUTATION_RETRY_STATUSES)
        headers = {"authorization": self._credential.header()}
        try:
            response = await send_with_retries(
                self._http,
                lambda: self._http.build_request("POST", self.base_url, json=body, headers=headers),
                retry=retry,
                idempotent=not document.mutation,  # nothing sent (a failed connect) is retried anyway
                retry_reason=_rate_limited_in_body,
                wait_hint=_rate_limit_reset,
                on_retry=self._on_retry,
                sleep=self._sleep,
            )
        except ApiUnavailable as error:
            raise self._exhausted(str(error), error.attempts - 1, time.monotonic() - started) from None
        except httpx.TimeoutException:  # a mutation: it may have been applied
            raise LinearUnavailableError(
                f"Linear did not answer {document.name} in time; it may or may not have been applied, "
                "so it was not retried. Check in Linear before trying again."
            ) from None
        except httpx.TransportError as error:
            raise LinearUnavailableError(
                f"the connection to Linear failed during {document.name} ({type(error).__name__}); "
                "it may or may not have been applied. Check in Linear before trying again."
            ) from None
        return self._read(response, document, attempts_of(response) - 1, time.monotonic() - started)

    async def page(
        self, document: Document, variables: Mapping[str, Any], path: Sequence[str]
    ) -> tuple[dict[str, Any], Page]:
        """Run a query and read the connection at `path` (e.g. ("issue", "comments")) as a Page."""
        data = await self.execute(document, variables)
        return data, connection_page(data, path)

    async def iterate(
        self,
        document: Document,
        variables: Mapping[str, Any],
        path: Sequence[str],
        *,
        max_items: int = 1000,
        page_size: int = 100,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every node of a connection, following `endCursor` page after page (up to `max_items`)."""
        cursor: str | None = None
        seen = 0
        while True:
            _, page = await self.page(
                document, {**variables, "first": min(page_size, max_items - seen), "after": cursor}, path
            )
            for node in page.nodes:
                yield node
                seen += 1
                if seen >= max_items:
                    return
            cursor = page.next_cursor
            if cursor is None or not page.nodes:
                return

    def _read(
        self, response: httpx.Response, document: Document, retries: int, elapsed: float
    ) -> dict[str, Any]:
        """The `data` of Linear's final answer, or the error it stands for."""
        self.rate_limit = RateLimit.from_headers(response.headers)
        payload = _json_or_none(response)
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if response.status_code == 429 or _has_code(errors, "RATELIMITED"):
            raise self._exhausted("rate limited by Linear", retries, elapsed, rate_limited=True)
        if response.status_code >= 500:
            if document.mutation and response.status_code != 503:  # 503: refused before any work
                raise LinearUnavailableError(
                    f"Linear answered HTTP {response.status_code} to {document.name}; it may or may not "
                    "have been applied, so it was not retried. Check in Linear before trying again."
                )
            raise self._exhausted(f"Linear answered HTTP {response.status_code}", retries, elapsed)
        if errors:
            # Upstreams (and proxies before them) may quote the credential they were sent: never pass it on.
            raise _error_from(errors, response.status_code, self._credential.secret.get_secret_value())
        if response.status_code in (401, 403):
            raise (LinearAuthError if response.status_code == 401 else LinearForbiddenError)(
                f"Linear refused the credential (HTTP {response.status_code})"
            )
        if response.status_code != 200 or not isinstance(payload, dict):
            raise LinearError(f"Linear answered HTTP {response.status_code} without a GraphQL result")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise LinearError("Linear answered without data")
        return data

    def _exhausted(
        self, reason: str, retries: int, elapsed: float, *, rate_limited: bool = False
    ) -> LinearError:
        tried = f"after {retries} {'retry' if retries == 1 else 'retries'} over {elapsed:.1f} s"
        if rate_limited:
            limits = self.rate_limit.describe(time.time())
            return LinearRateLimitError(
                f"Linear is rate limiting this organization's requests (RATELIMITED), still {tried}"
                + (f" ({limits})" if limits else "")
                + ". Try again later."
            )
        return LinearUnavailableError(f"Linear is unavailable: {reason}, {tried}.")

    def _host(self) -> str:
        return httpx.URL(self.base_url).host or self.base_url


def connection_page(data: Mapping[str, Any], path: Sequence[str]) -> Page:
    """The connection at `path` in a result as a Page; a missing entity along the path is not found."""
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping) or node.get(key) is None:
            raise LinearNotFoundError(f"Linear returned no {key}")
        node = node[key]
    info = node.get("pageInfo") or {}
    return Page(
        nodes=list(node.get("nodes") or []),
        has_next_page=bool(info.get("hasNextPage")),
        end_cursor=info.get("endCursor"),
        total=node.get("totalCount"),
    )


def _error_from(errors: list[Any], status: int, credential: str) -> LinearError:
    """Linear's error list as one exception: the first error decides the kind, all are mentioned, and
    the credential is redacted from what Linear said."""
    first: dict[str, Any] = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    extensions: dict[str, Any] = first.get("extensions") or {}
    code = extensions.get("code")
    message = redact_secrets(str(first.get("message") or "unknown error"), [credential])
    shown = redact_secrets(str(extensions.get("userPresentableMessage") or message), [credential])
    if len(errors) > 1:
        shown += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    if code == "AUTHENTICATION_ERROR" or status == 401:
        return LinearAuthError(f"Linear rejected the credential: {shown}")
    if code == "FORBIDDEN" or status == 403:
        return LinearForbiddenError(f"Linear refused access: {shown}")
    if message.startswith("Entity not found"):
        return LinearNotFoundError(shown, code=code)
    if code in ("INPUT_ERROR", "INVALID_INPUT") or extensions.get("type") == "invalid input":
        return LinearInputError(f"Linear rejected the input: {shown}")
    if code in ("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"):
        return LinearQueryError(f"Linear rejected the query sent by the Linear plugin: {message}", code=code)
    return LinearError(f"Linear error ({code or 'no code'}): {shown}", code=code)


def _has_code(errors: Any, code: str) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == code for e in errors
    )


def _rate_limited_in_body(response: httpx.Response) -> str | None:
    """Linear also says RATELIMITED inside a GraphQL answer (HTTP 200 or 400)."""
    payload = _json_or_none(response)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    return "rate limited by Linear" if _has_code(errors, "RATELIMITED") else None


def _rate_limit_reset(response: httpx.Response) -> float | None:
    """When rate limited without Retry-After: wait for the exhausted budget's reset."""
    if response.status_code != 429 and _rate_limited_in_body(response) is None:
        return None
    return RateLimit.from_headers(response.headers).seconds_until_reset(time.time())


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
