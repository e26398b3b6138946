"""Where metrics meet the request path: /metrics itself, HTTP statuses and open GET streams (ASGI), and
MCP methods with their outcome (an SDK server middleware)."""

from __future__ import annotations

import hmac
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult
from pydantic import ValidationError
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omni_mcp.observability.metrics import CONTENT_TYPE, Metrics, method_label

METRICS_PATH = "/metrics"


def metrics_response(metrics: Metrics) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE)


class MetricsMiddleware:
    """Serves GET /metrics to a scraper holding the token (before authentication: a scraper is not an MCP
    caller), counts every response by status, and keeps the gauge of open GET streams on the MCP path."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, mcp_path: str, token: str | None) -> None:
        self.app = app
        self.metrics = metrics
        self.mcp_path = mcp_path
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.token is not None and scope["path"] == METRICS_PATH:
            await self._scrape(scope)(scope, receive, send)
            return
        responses = self.metrics.http_responses

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                responses.labels(str(message["status"])).inc()
            await send(message)

        if scope["method"] != "GET" or scope["path"] != self.mcp_path:
            await self.app(scope, receive, counting_send)
            return
        streams = self.metrics.streams.labels("get")
        streams.inc()
        try:
            await self.app(scope, receive, counting_send)
        finally:
            streams.dec()

    def _scrape(self, scope: Scope) -> Response:
        assert self.token is not None
        if scope["method"] != "GET":
            return PlainTextResponse("method not allowed", status_code=405, headers={"allow": "GET"})
        given = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse(
                "metrics need the bearer token of metrics.token",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
        return metrics_response(self.metrics)


def count_requests(metrics: Metrics) -> ServerMiddleware[Any]:
    """Count each MCP message by method and outcome, and keep the gauge of open subscriptions/listen."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        method = method_label(ctx.method)
        listen = metrics.streams.labels("listen") if method == "subscriptions/listen" else None
        outcome = "exception"
        if listen is not None:
            listen.inc()
        try:
            result = await call_next(ctx)
            outcome = "tool_error" if _is_tool_error(result) else "ok"
            return result
        except MCPError as error:
            outcome = f"error_{error.error.code}"
            raise
        except ValidationError:
            outcome = "invalid_params"
            raise
        finally:
            metrics.requests.labels(method, outcome).inc()
            if listen is not None:
                listen.dec()

    return middleware


def _is_tool_error(result: object) -> bool:
    # Handlers may return the model or its wire form (a dict with the camelCase key).
    if isinstance(result, CallToolResult):
        return result.is_error is True
    return isinstance(result, dict) and result.get("isError") is True
