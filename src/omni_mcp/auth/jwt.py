"""OIDC JWT bearer tokens: signature against the issuer's published keys, then issuer, audience and time.

Keys come from the issuer's JWKS, found through its metadata (`/.well-known/openid-configuration`, or
RFC 8414 `/.well-known/oauth-authorization-server`). They are cached for `auth.jwks_cache_seconds`; a
token signed with a key we do not know triggers a refresh, but an issuer's keys are never fetched more
than once per `auth.jwks_refresh_min_interval`, however many such tokens arrive.

What is refused: `alg: none` and every algorithm outside `auth.algorithms` (asymmetric only), a key
whose type or declared algorithm does not fit the token's (so a public key is never used as an HMAC
secret), keys named in the token header (`jku`, `jwk`, `x5u` are ignored), critical header extensions,
an issuer not configured, an audience that is not ours (RFC 8707), and tokens expired, not yet valid
or issued in the future (with `auth.leeway_seconds` of clock skew).

A client sends the same token with every request until it expires, so a token whose signature checked
out is remembered (by its SHA-256) for `auth.token_cache_seconds`: a later request skips the signature
math, which is most of the cost, if the issuer still serves the very key that verified it. Its claims
(expiry and all) are checked again on every request.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from cachetools import TTLCache
from joserfc import jws
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, JWKRegistry, Key, OKPKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from loguru import logger

from omni_mcp.auth.errors import InvalidCredential, VerifierUnavailable
from omni_mcp.settings import AuthSettings, check_http_url

MAX_TOKEN_LENGTH = 16 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024
OIDC_DISCOVERY = "/.well-known/openid-configuration"
OAUTH_DISCOVERY = "/.well-known/oauth-authorization-server"
Claims = dict[str, Any]
MAX_CACHED_TOKENS = 10_000


def looks_like_jwt(value: str) -> bool:
    """Three dot-separated base64url segments: a JWS in compact form (not necessarily a valid one)."""
    return value.count(".") == 2 and value.startswith("ey")


class IssuerUnreachable(Exception):
    """The issuer's metadata or keys could not be fetched or understood (the message says why)."""


@dataclass
class IssuerKeys:
    """One issuer's signing keys, fetched when needed and at a bounded rate."""

    issuer: str
    cache_seconds: float
    refresh_min_interval: float
    timeout: float
    clock: Callable[[], float] = time.monotonic
    jwks_uri: str | None = None
    keys: list[Key] | None = None
    fetched_at: float | None = None
    attempted_at: float | None = None
    jwks_fetches: int = 0
    _lock: anyio.Lock | None = field(default=None, repr=False)

    async def key_for(self, kid: str | None) -> Key | None:
        """The key a token names (or the only key, when it names none); None when the issuer has no such key.

        Raises VerifierUnavailable when we have never managed to fetch the issuer's keys.
        """
        if self.keys is None or self._stale():
            await self._refresh()
        found = _pick(self.keys or [], kid)
        if found is None and self.keys is not None:
            await self._refresh()  # maybe the issuer rotated its keys; not if we looked too recently
            found = _pick(self.keys or [], kid)
        if self.keys is None:
            raise VerifierUnavailable("the token issuer's keys are unavailable")
        return found

    def _stale(self) -> bool:
        return self.fetched_at is None or self.clock() - self.fetched_at >= self.cache_seconds

    def _may_fetch(self) -> bool:
        return self.attempted_at is None or self.clock() - self.attempted_at >= self.refresh_min_interval

    async def _refresh(self) -> None:
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # concurrent callers wait for one fetch, then find it too recent to repeat
            if not self._may_fetch():
                return
            self.attempted_at = self.clock()
            try:
                self.keys = await self._fetch()
                self.fetched_at = self.clock()
            except IssuerUnreachable as error:  # keep the keys we had, if any
                logger.warning("could not fetch the signing keys of issuer {}: {}", self.issuer, error)

    async def _fetch(self) -> list[Key]:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            if self.jwks_uri is None:
                self.jwks_uri = await self._discover(client)
            self.jwks_fetches += 1
            document = await _get_json(client, self.jwks_uri)
        raw_keys = document.get("keys")
        if not isinstance(raw_keys, list):
            raise IssuerUnreachable("its JWKS has no 'keys' list")
        keys = [key for key in (_import_public_key(raw) for raw in raw_keys) if key is not None]
        if not keys:
            raise IssuerUnreachable("its JWKS has no usable signing key")
        return keys

    async def _discover(self, client: httpx.AsyncClient) -> str:
        errors = []
        for url in _discovery_urls(self.issuer):
            try:
                metadata = await _get_json(client, url)
            except IssuerUnreachable as error:
                errors.append(str(error))
                continue
            if metadata.get("issuer") != self.issuer:
                raise IssuerUnreachable(f"its metadata at {url} names another issuer")
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise IssuerUnreachable(f"its metadata at {url} has no jwks_uri")
            try:
                return check_http_url(jwks_uri, "jwks_uri")
            except ValueError as error:
                raise IssuerUnreachable(str(error)) from None
        raise IssuerUnreachable("; ".join(errors))


def _discovery_urls(issuer: str) -> list[str]:
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oidc = urlunsplit((parts.scheme, parts.netloc, path + OIDC_DISCOVERY, "", ""))
    oauth = urlunsplit((parts.scheme, parts.netloc, OAUTH_DISCOVERY + path, "", ""))
    return [oidc, oauth]


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url, headers={"accept": "application/json"})
    except httpx.HTTPError as error:
        raise IssuerUnreachable(f"{url}: {type(error).__name__}") from None
    if response.status_code != 200:
        raise IssuerUnreachable(f"{url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise IssuerUnreachable(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = response.json()
    except ValueError:
        raise IssuerUnreachable(f"{url} did not send JSON") from None
    if not isinstance(document, dict):
        raise IssuerUnreachable(f"{url} did not send a JSON object")
    return document


def _import_public_key(raw: Any) -> Key | None:
    """A public signing key from a JWKS entry; anything else (symmetric, private, encryption) is skipped."""
    if not isinstance(raw, dict) or raw.get("kty") not in ("RSA", "EC", "OKP"):
        return None
    if raw.get("use", "sig") != "sig":
        return None
    public = {k: v for k, v in raw.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "oth")}
    try:
        key = JWKRegistry.import_key(public)
    except (JoseError, ValueError, TypeError):
        return None
    return key if isinstance(key, RSAKey | ECKey | OKPKey) else None


def _pick(keys: list[Key], kid: str | None) -> Key | None:
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((key for key in keys if key.kid == kid), None)


@dataclass(frozen=True)
class _Verified:
    """A token whose signature `key` verified: its claims, and where the key came from."""

    claims: Claims
    issuer: IssuerKeys
    kid: str | None
    key: Key


class JwtVerifier:
    """Verify a bearer JWT against the configured issuers; returns its claims or raises InvalidCredential."""

    def __init__(
        self,
        settings: AuthSettings,
        audiences: list[str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.audiences = audiences
        self.algorithms = list(settings.algorithms)
        self.issuers = {
            issuer: IssuerKeys(
                issuer,
                cache_seconds=settings.jwks_cache_seconds,
                refresh_min_interval=settings.jwks_refresh_min_interval,
                timeout=settings.http_timeout,
                clock=clock,
            )
            for issuer in settings.issuers
        }
        self._registry = jws.JWSRegistry(algorithms=self.algorithms, strict_check_header=False)
        self._verified: TTLCache[bytes, _Verified] | None = (
            TTLCache(maxsize=MAX_CACHED_TOKENS, ttl=settings.token_cache_seconds, timer=clock)
            if settings.token_cache_seconds > 0
            else None
        )

    async def verify(self, token: str) -> Claims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidCredential("malformed token")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        known = self._verified.get(digest) if self._verified is not None else None
        if known is not None and await known.issuer.key_for(known.kid) is known.key:
            self._check_claims(known.claims, known.issuer.issuer)
            return dict(known.claims)
        try:
            parsed = jws.extract_compact(token.encode("ascii"), registry=self._registry)
            header = parsed.headers()
            unverified = json.loads(parsed.payload)
        except (JoseError, ValueError, TypeError, UnicodeError, RecursionError):
            raise InvalidCredential("malformed token") from None
        if not isinstance(unverified, dict):
            raise InvalidCredential("malformed token")
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidCredential("token algorithm not allowed")
        if "crit" in header or "b64" in header:
            raise InvalidCredential("unsupported token header")
        # The issuer is read before the signature is checked only to choose whose keys to check it with;
        # it is checked again, verified, below.
        issuer = unverified.get("iss")
        keys = self.issuers.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise InvalidCredential("token issuer not trusted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidCredential("malformed token")
        key = await keys.key_for(kid)
        if key is None:
            raise InvalidCredential("token signing key unknown")
        try:
            if not jws.validate_compact(parsed, key, registry=self._registry):
                raise InvalidCredential("token signature invalid")
        except JoseError:  # the key does not fit the algorithm (type, curve, declared alg or use)
            raise InvalidCredential("token signature invalid") from None
        self._check_claims(unverified, keys.issuer)
        if self._verified is not None:
            self._verified[digest] = _Verified(dict(unverified), keys, kid, key)
        return unverified

    def _check_claims(self, claims: Claims, issuer: str) -> None:
        registry = JWTClaimsRegistry(
            leeway=self.settings.leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "values": list(self.audiences)},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidCredential("token expired") from None
        except MissingClaimError as error:
            missing = {
                "exp": "token has no expiry",
                "aud": "token audience is not this resource",
                "iss": "token issuer not trusted",
            }
            raise InvalidCredential(missing.get(error.claim, f"token lacks claim '{error.claim}'")) from None
        except ClaimError as error:
            reasons = {
                "nbf": "token not yet valid",
                "iat": "token issued in the future",
                "aud": "token audience is not this resource",
                "iss": "token issuer not trusted",
                "exp": "token expiry invalid",
            }
            reason = reasons.get(error.claim, f"token claim '{error.claim}' invalid")
            raise InvalidCredential(reason) from None
        subject = claims.get(self.settings.claim_subject)
        if not isinstance(subject, str) or not subject:
            raise InvalidCredential("token has no subject")
