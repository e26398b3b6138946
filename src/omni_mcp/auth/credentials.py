"""Find the credential a request presents: `Authorization: Bearer <token>` or `X-API-Key: <key>`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from omni_mcp.auth.errors import InvalidCredential

AUTHORIZATION = b"authorization"
API_KEY_HEADER = b"x-api-key"
CREDENTIAL_HEADERS = frozenset({AUTHORIZATION, API_KEY_HEADER})
MAX_CREDENTIAL_LENGTH = 16 * 1024


@dataclass(frozen=True)
class Credential:
    value: str
    header: str  # "authorization" or "x-api-key"

    def __repr__(self) -> str:  # never print the secret itself
        return f"Credential(header={self.header!r}, length={len(self.value)})"


def presents_credential(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the request carries any credential header at all (whatever its scheme)."""
    return any(name.lower() in CREDENTIAL_HEADERS for name, _ in headers)


def credential_of(headers: Iterable[tuple[bytes, bytes]]) -> Credential | None:
    """The bearer token or API key, or None when neither header is present.

    Raises InvalidCredential when the headers are there but unusable: repeated, both at once with different
    values, an empty value, or too long. Another Authorization scheme (Basic, ...) gives None: a plugin
    may understand it, and if none does the request is refused anyway.
    """
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in CREDENTIAL_HEADERS:
            found.setdefault(lowered, []).append(value)
    if any(len(values) > 1 for values in found.values()):
        raise InvalidCredential("more than one credential header")
    bearer: str | None = None
    if AUTHORIZATION in found:
        raw = _text(found[AUTHORIZATION][0])
        scheme, _, token = raw.strip().partition(" ")
        if scheme.lower() == "bearer":
            bearer = token.strip()
            if not bearer:
                raise InvalidCredential("empty bearer token")
        elif API_KEY_HEADER not in found:
            return None
    api_key = _text(found[API_KEY_HEADER][0]).strip() if API_KEY_HEADER in found else None
    if api_key is not None and not api_key:
        raise InvalidCredential("empty API key")
    if bearer is not None and api_key is not None and bearer != api_key:
        raise InvalidCredential("two different credentials")
    if bearer is not None:
        return Credential(bearer, "authorization")
    if api_key is not None:
        return Credential(api_key, "x-api-key")
    return None


def _text(raw: bytes) -> str:
    if len(raw) > MAX_CREDENTIAL_LENGTH:
        raise InvalidCredential("credential too long")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidCredential("credential is not ASCII") from None
