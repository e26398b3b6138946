"""Svix webhook signatures (what Clerk sends): HMAC-SHA256 over `id.timestamp.body`, checked on raw bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"  # noqa: S105 (a marker, not a secret)


class BadSignature(ValueError):
    """The delivery is not proven to come from the sender; the message says why (never a secret)."""


def signing_key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("the configured webhook secret is not whsec_<base64>") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `svix-signature` header value for these bytes (senders and tests use this)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    message_id: str | None,
    timestamp: str | None,
    signatures: str | None,
    body: bytes,
    now: float | None = None,
) -> None:
    """Raise BadSignature unless one of the `v1,` signatures matches and the timestamp is recent."""
    if not message_id or not timestamp or not signatures:
        raise BadSignature("missing svix-id, svix-timestamp or svix-signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise BadSignature("svix-timestamp is not a number") from None
    if abs((time.time() if now is None else now) - sent) > TOLERANCE_SECONDS:
        raise BadSignature("svix-timestamp is more than 5 minutes away (a replay, or a wrong clock)")
    expected = sign(secret, message_id, sent, body).encode()
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise BadSignature("no signature matches")
