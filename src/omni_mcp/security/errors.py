"""Error responses in the shape the caller speaks: JSON-RPC on the MCP endpoint, plain JSON elsewhere."""

from __future__ import annotations

import json

from mcp.types import INVALID_REQUEST
from starlette.types import Receive, Scope, Send


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    mcp_path: str,
    headers: dict[str, str] | None = None,
) -> None:
    if scope["path"] == mcp_path:
        payload: dict[str, object] = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": INVALID_REQUEST, "message": message},
        }
    else:
        payload = {"error": message}
    body = json.dumps(payload).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
