"""One way for plugins to call an upstream HTTP API: bounded time, retries with backoff that honour
Retry-After, and failures mapped to exceptions whose messages are fit for a user and carry no credential.

    async with upstream_client(timeout=30) as http:
        response = await send_with_retries(
            http, lambda: http.build_request("GET", url, headers=auth), retry=RetryPolicy()
        )
        raise_for_status(response, service="Acme", secrets=[key])

Public: re-exported by `omni_mcp`.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
import httpx

from omni_mcp.redaction import redact_secrets
from omni_mcp.upstream import retry_after_seconds

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_DETAIL = 300

OnRetry = Callable[[int, float, str], Awaitable[None] | None]
"""Told (retry number from 1, seconds it will wait, why) before each retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: retries after a retryable status or a failed connection, doubling backoff, a cap."""

    max_retries: int = 2
    backoff: float = 1.0
    max_wait: float = 30.0
    statuses: frozenset[int] = RETRYABLE_STATUS

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt + 1`: the upstream's word if given, else exponential."""
        wanted = retry_after if retry_after is not None else self.backoff * 2**attempt
        return max(0.0, min(wanted, self.max_wait))


class ApiError(Exception):
    """An upstream call failed; the message is fit to show the user and never holds a credential."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.detail = detail
        """What the upstream said (redacted, clipped), for a plugin that words its own message."""
        self.retry_after = retry_after


class ApiAuthError(ApiError):
    """401/403: the credential was refused or may not do this."""


class ApiNotFound(ApiError):
    """404."""


class ApiRateLimited(ApiError):
    """429, still after every retry."""


class ApiUnavailable(ApiError):
    """Unreachable, out of time, or 5xx, still after every retry."""


class ApiRejected(ApiError):
    """Any other 4xx (or an unexpected redirect): the request itself was refused."""


def upstream_client(
    *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An httpx client for one upstream: a timeout on every phase, no redirects (a redirect must not carry
    the credential elsewhere), and one shared TLS context (loading CA certificates costs milliseconds)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), verify=_tls_context(), transport=transport, follow_redirects=False
    )


async def send_with_retries(
    http: httpx.AsyncClient,
    build: Callable[[], httpx.Request],
    *,
    retry: RetryPolicy,
    idempotent: bool = True,
    stream: bool = False,
    give_up_at: float | None = None,
    retry_reason: Callable[[httpx.Response], str | None] | None = None,
    wait_hint: Callable[[httpx.Response], float | None] | None = None,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> httpx.Response:
    """Send the request `build()` makes, retrying what is safe to retry, and return the last response.

    Retried: a failed connection (nothing was sent), and a response whose status is in `retry.statuses`
    or for which `retry_reason` gives a reason. Another transport failure (a timeout, a broken connection)
    is retried only for an `idempotent` request, else re-raised as is: it may have been applied. When
    retries of transport failures run out: ApiUnavailable. The wait is Retry-After, else
    `wait_hint`, else backoff; no retry starts that would end after `give_up_at` (anyio.current_time()
    clock). With `stream`, the caller reads and closes the body. A response that is not retried is
    returned as is, whatever its status: see `raise_for_status`.
    """
    attempt = 0
    while True:
        request = build()
        try:
            response = await http.send(request, stream=stream)
            response.extensions["omni_mcp.attempts"] = attempt + 1
        except httpx.HTTPError as error:
            nothing_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
            if not nothing_sent and not idempotent:
                raise  # it may have been applied: the caller says so in its own words
            reason = _transport_reason(request, error)
            if not await _retrying(
                attempt, retry.wait(attempt, None), reason, retry, give_up_at, on_retry, sleep
            ):
                raise ApiUnavailable(reason, attempts=attempt + 1) from None
            attempt += 1
            continue
        why = _retry_reason(response, retry, retry_reason)
        if why is None:
            return response
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if retry_after is None and wait_hint is not None:
            retry_after = wait_hint(response)
        if stream:
            await response.aread()
        if not await _retrying(
            attempt, retry.wait(attempt, retry_after), why, retry, give_up_at, on_retry, sleep
        ):
            return response
        await response.aclose()
        attempt += 1


def attempts_of(response: httpx.Response) -> int:
    """How many times send_with_retries sent the request that got this response."""
    attempts: int = response.extensions.get("omni_mcp.attempts", 1)
    return attempts


def raise_for_status(response: httpx.Response, *, service: str, secrets: Sequence[str] = ()) -> None:
    """Nothing for a 2xx; else the ApiError subclass for the status, naming `service` and quoting
    what the upstream said (its JSON error message or page title), with every secret redacted."""
    status = response.status_code
    if status < 300:
        return
    attempts = attempts_of(response)
    label = f"HTTP {status} {response.reason_phrase}".strip()
    detail = redact_secrets(error_detail(response), list(secrets))
    said = f": {detail}" if detail else ""
    times = f" ({attempts} attempts)" if attempts > 1 else ""
    wait = retry_after_seconds(response.headers.get("retry-after"))
    kind: type[ApiError] = ApiRejected
    message = f"{service} rejected the request ({label}{said})"
    if status in (401, 403):
        kind, message = ApiAuthError, f"{service} refused the credential ({label}{said})"
    elif status == 404:
        kind, message = ApiNotFound, f"{service} has no {response.request.url.path} ({label})"
    elif status == 429:
        later = f" in {wait:g} s" if wait is not None else " later"
        kind = ApiRateLimited
        message = f"{service}'s rate limit was reached ({label}{said}){times}. Try again{later}."
    elif status >= 500:
        kind, message = ApiUnavailable, f"{service} failed ({label}{said}){times}"
    elif status < 400:
        where = response.headers.get("location", "?")
        message = f"{service} answered with a redirect ({label}) to {where}"
    raise kind(message, status=status, attempts=attempts, detail=detail, retry_after=wait)


def error_detail(response: httpx.Response) -> str:
    """The human part of an error body: JSON error.message, an HTML page's title, or the text itself.
    Not redacted: pass it through `redact_secrets` (raise_for_status does)."""
    text = response.text.strip()
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            kind = error.get("type")
            return _clip(f"{message} [{kind}]" if kind and message else message or str(kind or ""))
        for key in ("detail", "message", "error"):
            if data.get(key):
                return _clip(str(data[key]))
        return ""
    if "html" in response.headers.get("content-type", "") or text.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.IGNORECASE | re.DOTALL)
        found = title or heading
        page = _clip(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""
        return f'the server sent an HTML page "{page}"' if page else "the server sent an HTML page"
    return _clip(text)


async def _retrying(
    attempt: int,
    wait: float,
    reason: str,
    retry: RetryPolicy,
    give_up_at: float | None,
    on_retry: OnRetry | None,
    sleep: Callable[[float], Awaitable[None]],
) -> bool:
    """Wait before the next attempt and say True, or say False when the policy or the deadline forbid it."""
    if attempt >= retry.max_retries:
        return False
    if give_up_at is not None and anyio.current_time() + wait >= give_up_at:
        return False
    if on_retry is not None:
        told = on_retry(attempt + 1, wait, reason)
        if told is not None:
            await told
    await sleep(wait)
    return True


def _retry_reason(
    response: httpx.Response, retry: RetryPolicy, extra: Callable[[httpx.Response], str | None] | None
) -> str | None:
    if response.status_code in retry.statuses:
        return f"{_host(response.request)} answered HTTP {response.status_code}"
    return extra(response) if extra is not None else None


def _transport_reason(request: httpx.Request, error: httpx.HTTPError) -> str:
    """What went wrong, by the error's kind only: an exception's text may quote what was sent."""
    host, kind = _host(request), type(error).__name__
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return f"could not connect to {host} ({kind})"
    if isinstance(error, httpx.TimeoutException):
        return f"no answer from {host} in time ({kind})"
    return f"the connection to {host} failed ({kind})"


def _host(request: httpx.Request) -> str:
    return request.url.host or str(request.url)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()
