"""Signed cookies for the admin UI: the sign-in session, the pending sign-in, and the CSRF token.

A signed cookie is `base64url(json).base64url(hmac)`, the HMAC keyed by a key derived from the server's
encryption key, so every process of one deployment accepts the others' sessions and nobody can forge one.
Flags: HttpOnly, SameSite=Lax (the issuer's redirect back is a top-level GET), Secure behind https.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from omni_mcp.security.secrets import SecretBox

SESSION_COOKIE = "omni_admin_session"
SIGNIN_COOKIE = "omni_admin_signin"
CSRF_COOKIE = "omni_admin_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    def __init__(self, box: SecretBox) -> None:
        self._key = box.derive_key("omni-mcp admin cookies v1")

    def dumps(self, value: dict[str, Any], lifetime: float) -> str:
        payload = _b64(json.dumps({**value, "exp": int(time.time() + lifetime)}).encode())
        return payload + "." + _b64(self._mac(payload))

    def loads(self, raw: str | None) -> dict[str, Any] | None:
        """The value, or None when absent, forged, malformed or expired."""
        if not raw or raw.count(".") != 1:
            return None
        payload, mac = raw.split(".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(payload)):
                return None
            value = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(value, dict) or not isinstance(value.get("exp"), int) or value["exp"] < time.time():
            return None
        return value

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).digest()


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (double submit: the cookie, and the same value in each form)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    token: str = request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(32))
    return token


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie if this request made a new token."""
    new = request.state.__dict__.get("new_csrf")
    if new:
        set_cookie(request, response, CSRF_COOKIE, new, 12 * 3600)


async def csrf_ok(request: Request) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), cookie.encode())
