"""While the database is unreachable, answer MCP requests that need it with 503, `Retry-After` and a
JSON-RPC error for the request's id, instead of a 500 and a traceback. Requests the caches can serve go on.
"""

from __future__ import annotations

from loguru import logger
from mcp.types import INTERNAL_ERROR
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omni_mcp.security.errors import send_error
from omni_mcp.security.request_body import parse_request, read_body, replay

RETRY_AFTER_SECONDS = "1"
MESSAGE = "The database is unavailable; retry shortly"


def is_database_outage(error: BaseException) -> bool:
    """A failure to reach the database (not a bad query): a lost or refused connection."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


class DatabaseOutageGuard:
    def __init__(self, app: ASGIApp, *, mcp_path: str) -> None:
        self.app = app
        self.mcp_path = mcp_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = None
        if scope["type"] == "http" and scope["method"] == "POST":
            body = await read_body(receive)  # bounded by the body-size limit in front of us
            if body is None:
                return
            request = parse_request(body)
            request_id = request.id if request is not None else None
            receive = replay(body, receive)
        started = False

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except Exception as error:
            if started or not is_database_outage(error):
                raise
            logger.warning("database unavailable, answered 503: {}", str(error).splitlines()[0])
            await send_error(
                scope,
                receive,
                send,
                503,
                MESSAGE,
                self.mcp_path,
                {"retry-after": RETRY_AFTER_SECONDS},
                code=INTERNAL_ERROR,
                read_request_id=False,
                request_id=request_id,
            )
