"""Refuse request bodies over the configured size, whether announced by Content-Length or streamed."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omni_mcp.security.errors import send_error


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, mcp_path: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.mcp_path = mcp_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"Request body larger than {self.max_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await send_error(
                    scope, receive, send, 400, "Invalid Content-Length", self.mcp_path, read_request_id=False
                )
                return
            if too_large:
                await send_error(scope, receive, send, 413, message, self.mcp_path, read_request_id=False)
                return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal response_started
            if outgoing["type"] == "http.response.start":
                response_started = True
            await send(outgoing)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await send_error(scope, receive, send, 413, message, self.mcp_path, read_request_id=False)
