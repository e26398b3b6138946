"""Seal the `requestState` a plugin hands out in an input_required result, so a client cannot forge it.

The client echoes the state back on retry; we only pass the plugin a state we sealed ourselves, for the
same tool, the same caller (not merely the same organization: another key of it may not replay it) and
before it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from omni_mcp.context import Actor

_VERSION = "s2"


class RequestStateSealer:
    def __init__(self, secret: bytes, *, ttl_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._clock = clock  # wall time: a state may come back to another process behind a load balancer

    def seal(self, state: str, *, target: str, actor: Actor) -> str:
        expires = round(self._clock() + self._ttl, 3)
        sealed = [target, actor.organization, _caller(actor), expires, state]
        payload = base64.urlsafe_b64encode(json.dumps(sealed).encode()).decode()
        return f"{_VERSION}.{payload}.{self._mac(payload)}"

    def open(self, sealed: str, *, target: str, actor: Actor) -> str:
        try:
            version, payload, mac = sealed.split(".")
            if version != _VERSION or not hmac.compare_digest(mac, self._mac(payload)):
                raise ValueError("bad seal")
            sealed_target, sealed_org, sealed_caller, expires, state = json.loads(
                base64.urlsafe_b64decode(payload)
            )
            expires = float(expires)
        except (ValueError, TypeError):
            raise MCPError(INVALID_PARAMS, "Invalid requestState: it was not issued by this server") from None
        if sealed_target != target or sealed_org != actor.organization:
            raise MCPError(INVALID_PARAMS, "Invalid requestState: it was issued for another request")
        if sealed_caller != _caller(actor):
            raise MCPError(INVALID_PARAMS, "Invalid requestState: it was issued to another caller")
        if self._clock() >= expires:
            raise MCPError(INVALID_PARAMS, "Invalid requestState: it has expired; start the call again")
        return str(state)

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _caller(actor: Actor) -> str:
    """Who started the rounds: a user or an API key (its id), never its credential."""
    return f"{actor.kind}:{actor.id}"
