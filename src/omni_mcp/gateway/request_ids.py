"""JSON-RPC ids of the requests each handshake-era session has in progress.

The SDK routes a session's answers by request id, so a second request reusing the id of one still running
would take over the first one's answer stream: both tools run, one answer comes back and the other POST
hangs. Such a duplicate is refused at once instead. (2026-07-28 requests carry no session: each POST
stands alone and is answered on its own.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from starlette.types import Scope

from omni_mcp.security.request_body import JsonRpcRequest

SESSION_HEADER = b"mcp-session-id"


class SessionRequestIds:
    def __init__(self) -> None:
        self._in_progress: set[tuple[str, str]] = set()

    @contextlib.contextmanager
    def claimed(self, scope: Scope, request: JsonRpcRequest | None) -> Iterator[bool]:
        """True while `request` may run; False if its session already has a request with its id running."""
        key = _key(scope, request)
        if key is None:
            yield True
            return
        if key in self._in_progress:
            yield False
            return
        self._in_progress.add(key)
        try:
            yield True
        finally:
            self._in_progress.discard(key)


def _key(scope: Scope, request: JsonRpcRequest | None) -> tuple[str, str] | None:
    if request is None or request.id is None:
        return None
    session = next((value for name, value in scope["headers"] if name.lower() == SESSION_HEADER), None)
    # The SDK keys a session's streams by str(id): 7 and "7" collide there, so they do here.
    return (session.decode("latin-1"), str(request.id)) if session is not None else None
