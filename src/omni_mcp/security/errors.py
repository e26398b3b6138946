"""Error responses in the shape the caller speaks: JSON-RPC on the MCP endpoint, problem details on the
admin API, plain JSON elsewhere."""

from __future__ import annotations

import json

from mcp.types import INVALID_REQUEST
from starlette.types import Receive, Scope, Send

from omni_mcp.security.request_body import RequestId, request_id_for_error

API_PATH_PREFIX = "/api/"


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    mcp_path: str,
    headers: dict[str, str] | None = None,
    *,
    code: int = INVALID_REQUEST,
    read_request_id: bool = True,
    request_id: RequestId | None = None,
    data: object = None,
) -> None:
    """Answer `status` with `message`. On the MCP endpoint the JSON-RPC error carries the request's id,
    read from the body unless `read_request_id` is False (a body too large, or already read: then give
    `request_id`)."""
    content_type = b"application/json"
    if scope["path"] == mcp_path:
        if read_request_id and request_id is None:
            request_id = await request_id_for_error(scope, receive)
        payload: dict[str, object] = {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": code, "message": message} | ({"data": data} if data is not None else {}),
        }
    elif scope["path"].startswith(API_PATH_PREFIX):  # the admin API speaks RFC 9457 problem details
        payload = {
            "type": "about:blank",
            "title": message,
            "status": status,
            "detail": message,
            "instance": scope["path"],
        }
        content_type = b"application/problem+json"
    else:
        payload = {"error": message}
    body = json.dumps(payload).encode()
    raw_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
