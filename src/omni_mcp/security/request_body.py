"""Read a request's JSON-RPC body ahead of the MCP server, and hand the same bytes on to it.

The HTTP layer answers some requests itself (401, 403, 429...). Its JSON-RPC error should carry the
id of the request it refuses, and the permission gate needs the method and the name being called, so
those layers read the body first; `replay` then gives the application the bytes already read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Message, Receive, Scope

RequestId = str | int
ERROR_PEEK_BYTES = 64 * 1024
"""The most of a body read only to find the id for an error answer (a refused caller gets no more)."""


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole body; None if the client went away, or the body is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that first delivers `body` whole, then waits on the real one (for a disconnect)."""
    delivered = False

    async def replaying() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


@dataclass(frozen=True)
class JsonRpcRequest:
    """What the HTTP layer needs of a single JSON-RPC request (the MCP server validates the rest)."""

    id: RequestId | None
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def parse_request(body: bytes) -> JsonRpcRequest | None:
    """The request in `body`, or None for anything else (a notification, a response, a batch, junk)."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # junk, bad UTF-8, or nested deeper than Python's parser goes
        return None
    if not isinstance(message, dict):
        return None
    method = message.get("method")
    params = message.get("params", {})
    if not isinstance(method, str) or not isinstance(params, dict):
        return None
    return JsonRpcRequest(_request_id(message.get("id")), method, params)


def _request_id(value: object) -> RequestId | None:
    # bool is an int to Python, not to JSON-RPC
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


async def request_id_for_error(scope: Scope, receive: Receive) -> RequestId | None:
    """The id of the POSTed request being refused, if its body is short enough to look at."""
    if scope.get("method") != "POST":
        return None
    body = await read_body(receive, ERROR_PEEK_BYTES)
    request = parse_request(body) if body is not None else None
    return request.id if request is not None else None
