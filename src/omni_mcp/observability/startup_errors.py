"""Report a StartupError as its one-line message instead of a traceback when the app fails to start."""

from __future__ import annotations

import sys

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omni_mcp.errors import StartupError


class StartupErrorMessages:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_plain_message(message: Message) -> None:
            # Starlette sends startup.failed from inside its `except`, so the error is the one being handled.
            error = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(error, StartupError):
                message = {**message, "message": f"cannot start: {error}"}
            await send(message)

        await self.app(scope, receive, send_plain_message)
