"""Give every HTTP request an id (scope, log lines, X-Request-Id header) and log one line when it ends."""

from __future__ import annotations

import re
import time
import uuid

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_SCOPE_KEY = "omni_mcp.request_id"
REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((REQUEST_ID_HEADER, request_id.encode()))
            await send(message)

        with logger.contextualize(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                logger.info(
                    "{} {} {} {:.1f}ms",
                    scope["method"],
                    scope["path"],
                    status or "-",
                    (time.perf_counter() - started) * 1000,
                )


def _incoming_id(scope: Scope) -> str | None:
    # Honour a caller's id (a load balancer's, say) only when it is short and plain: it goes into logs.
    for key, value in scope["headers"]:
        if key == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            return candidate if _SAFE_ID.match(candidate) else None
    return None
