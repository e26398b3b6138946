"""A real, local OIDC issuer for tests: Starlette under uvicorn on 127.0.0.1, signing with joserfc.

It publishes `/.well-known/openid-configuration` and a JWKS, counts how often each is fetched, and
makes tokens: valid ones (RS256, ES256) and every kind of forgery the gateway must refuse. Its
`/authorize` and `/token` run the authorization-code flow with PKCE (S256) for whoever `signin_claims` names.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from omni_mcp.testing import free_port

AUDIENCE = "https://mcp.test/mcp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


class TestIssuer:
    """Keys: `rsa` (kid rsa-1) and `ec` (kid ec-1) are published; `stranger` (kid stranger-1) is not."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self) -> None:
        self.url = ""
        self.keys: dict[str, Key] = {
            "rsa": RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"}),
            "ec": ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"}),
            "stranger": RSAKey.generate_key(2048, parameters={"kid": "stranger-1", "use": "sig"}),
        }
        self.published = ["rsa", "ec"]
        self.jwks_fetches = 0
        self.metadata_fetches = 0
        self.signin_claims: dict[str, Any] = {}
        """Who signs in at /authorize (the claims of the access token /token then gives)."""
        self.client_id = "omni-admin"
        self._codes: dict[str, dict[str, Any]] = {}

    # the server

    def app(self) -> Starlette:
        async def metadata(request: Request) -> JSONResponse:
            self.metadata_fetches += 1
            return JSONResponse(
                {
                    "issuer": self.url,
                    "jwks_uri": self.url + "/jwks",
                    "authorization_endpoint": self.url + "/authorize",
                    "token_endpoint": self.url + "/token",
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                }
            )

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_fetches += 1
            return JSONResponse({"keys": [self.keys[name].as_dict(private=False) for name in self.published]})

        async def authorize(request: Request) -> Response:
            """Signs in `signin_claims` at once (no login form) and sends the browser back with a code."""
            query = request.query_params
            if query.get("client_id") != self.client_id or query.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self._codes[code] = {
                "challenge": query["code_challenge"],
                "redirect_uri": query["redirect_uri"],
                "claims": dict(self.signin_claims),
            }
            return RedirectResponse(
                f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}", 302
            )

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            grant = self._codes.pop(str(form.get("code")), None)  # a code is good once
            verifier = str(form.get("code_verifier", ""))
            challenge = b64url(hashlib.sha256(verifier.encode()).digest())
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != self.client_id
                or form.get("redirect_uri") != grant["redirect_uri"]
                or challenge != grant["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            access = self.token(**grant["claims"])
            return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", metadata),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )

    def publish(self, name: str, key: Key) -> None:
        """Add a key to the JWKS (a rotation on the issuer's side)."""
        self.keys[name] = key
        self.published.append(name)

    # tokens

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user_alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "org_id": "acme",
            "org_role": "org:admin",
            "permissions": ["audit:read"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self, key: str = "rsa", alg: str | None = None, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        signing_key = self.keys[key]
        algorithm = alg or ("ES256" if isinstance(signing_key, ECKey) else "RS256")
        full_header = {"alg": algorithm, "kid": signing_key.kid, **(header or {})}
        return jwt.encode(full_header, self.claims(**claims), signing_key, algorithms=[algorithm])

    # forgeries

    def unsigned_token(self, **claims: Any) -> str:
        """`alg: none` with an empty signature."""
        return f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(self.claims(**claims))}."

    def hmac_with_public_key(self, **claims: Any) -> str:
        """HS256 with the published RSA key's public PEM as the HMAC secret (algorithm confusion)."""
        secret = self.keys["rsa"].as_pem(private=False)  # type: ignore[attr-defined]
        signing_input = (
            f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'})}.{b64json(self.claims(**claims))}"
        )
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"

    def tampered(self, **changes: Any) -> str:
        """A valid RS256 token whose payload was then changed (the signature left as it was)."""
        header, _payload, signature = self.token().split(".")
        return f"{header}.{b64json(self.claims(**changes))}.{signature}"


@contextlib.contextmanager
def running_issuer() -> Iterator[TestIssuer]:
    issuer = TestIssuer()
    port = free_port()
    issuer.url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(
        issuer.app(), host="127.0.0.1", port=port, log_config=None, lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"oidc-issuer-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test issuer did not start")
        time.sleep(0.02)
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=10)
