"""Seal the `requestState` a plugin hands out in an input_required result, so a client cannot forge it.

The client echoes the state back on retry; we only pass the plugin a state we sealed ourselves, for the
same tool and organization.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

_VERSION = "s1"


class RequestStateSealer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def seal(self, state: str, *, target: str, organization: str) -> str:
        payload = base64.urlsafe_b64encode(json.dumps([target, organization, state]).encode()).decode()
        return f"{_VERSION}.{payload}.{self._mac(payload)}"

    def open(self, sealed: str, *, target: str, organization: str) -> str:
        try:
            version, payload, mac = sealed.split(".")
            if version != _VERSION or not hmac.compare_digest(mac, self._mac(payload)):
                raise ValueError("bad seal")
            sealed_target, sealed_org, state = json.loads(base64.urlsafe_b64decode(payload))
        except (ValueError, TypeError):
            raise MCPError(INVALID_PARAMS, "Invalid requestState: it was not issued by this server") from None
        if sealed_target != target or sealed_org != organization:
            raise MCPError(INVALID_PARAMS, "Invalid requestState: it was issued for another request")
        return str(state)

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
