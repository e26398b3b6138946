"""UI sign-in: OIDC authorization code with PKCE at the configured issuer.

The access token the issuer returns is verified exactly as a bearer token on /mcp is (same verifier,
same claim mapping), so a UI session is the same Actor the gateway would see.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from loguru import logger
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from omni_mcp.admin.cookies import SESSION_COOKIE, SIGNIN_COOKIE, CookieSigner, set_cookie
from omni_mcp.auth.errors import AuthenticationError
from omni_mcp.config.effective import UnknownOrganization
from omni_mcp.context import Actor
from omni_mcp.default_plugins.oidc import token_state

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

SIGNIN_SECONDS = 600
CALLBACK_PATH = "/admin/callback"


class SignInFailed(Exception):
    """Shown to the user on the sign-in page; never contains a token or secret."""


def safe_next(value: str | None) -> str:
    """Only a path inside the admin: never another site (an open redirect)."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


def session_actor(signer: CookieSigner, request: Request) -> Actor | None:
    data = signer.loads(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return None
    try:
        return Actor(
            id=str(data["sub"]),
            organization=str(data["org"]),
            role=str(data["role"]),
            permissions=frozenset(str(p) for p in data.get("perms", [])),
            kind="user",
        )
    except KeyError:
        return None


class OidcSignIn:
    def __init__(self, runtime: Runtime, signer: CookieSigner) -> None:
        self.runtime = runtime
        self.signer = signer
        self._metadata: dict[str, Any] | None = None

    @property
    def configured(self) -> bool:
        settings = self.runtime.settings
        return bool(settings.auth.issuers and settings.admin.oidc_client_id)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            issuer = self.runtime.settings.auth.issuers[0].rstrip("/")
            async with httpx.AsyncClient(timeout=self.runtime.settings.auth.http_timeout) as client:
                response = await client.get(issuer + "/.well-known/openid-configuration")
            if response.status_code != 200:
                raise SignInFailed("the identity provider's configuration could not be read")
            self._metadata = response.json()
        return self._metadata

    async def start(self, request: Request) -> Response:
        """Redirect the browser to the issuer, remembering state and the PKCE verifier in a signed cookie."""
        metadata = await self.metadata()
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(24)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        admin = self.runtime.settings.admin
        query = {
            "response_type": "code",
            "client_id": admin.oidc_client_id,
            "redirect_uri": _redirect_uri(request),
            "scope": " ".join(admin.oidc_scopes),
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if self.runtime.settings.auth.resource:
            query["resource"] = self.runtime.settings.auth.resource  # RFC 8707: a token meant for us
        response = RedirectResponse(
            f"{metadata['authorization_endpoint']}?{urlencode(query)}", status_code=303
        )
        pending = {"state": state, "verifier": verifier, "next": safe_next(request.query_params.get("next"))}
        set_cookie(
            request, response, SIGNIN_COOKIE, self.signer.dumps(pending, SIGNIN_SECONDS), SIGNIN_SECONDS
        )
        return response

    async def finish(self, request: Request) -> Response:
        pending = self.signer.loads(request.cookies.get(SIGNIN_COOKIE))
        if pending is None:
            raise SignInFailed("the sign-in took too long or was started elsewhere; sign in again")
        if request.query_params.get("error"):
            raise SignInFailed("the identity provider refused the sign-in")
        if not secrets.compare_digest(str(request.query_params.get("state", "")), str(pending["state"])):
            raise SignInFailed("the sign-in answer does not belong to this browser's sign-in")
        code = request.query_params.get("code")
        if not code:
            raise SignInFailed("the identity provider sent no code")
        actor = await self._exchange(request, code, str(pending["verifier"]))
        try:
            await self.runtime.org_configs.get(actor.organization)
        except UnknownOrganization:
            raise SignInFailed("your organization is not known to this gateway") from None
        lifetime = int(self.runtime.settings.admin.session_hours * 3600)
        session = {
            "sub": actor.id,
            "org": actor.organization,
            "role": actor.role,
            "perms": sorted(actor.permissions),
        }
        response = RedirectResponse(safe_next(str(pending.get("next"))), status_code=303)
        set_cookie(request, response, SESSION_COOKIE, self.signer.dumps(session, lifetime), lifetime)
        response.delete_cookie(SIGNIN_COOKIE, path="/")
        logger.info("admin sign-in of {} ({})", actor.id, actor.organization)
        return response

    async def _exchange(self, request: Request, code: str, verifier: str) -> Actor:
        metadata = await self.metadata()
        admin = self.runtime.settings.admin
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _redirect_uri(request),
            "client_id": admin.oidc_client_id or "",
            "code_verifier": verifier,
        }
        if admin.oidc_client_secret is not None:
            form["client_secret"] = admin.oidc_client_secret.get_secret_value()
        async with httpx.AsyncClient(timeout=self.runtime.settings.auth.http_timeout) as client:
            response = await client.post(metadata["token_endpoint"], data=form)
        if response.status_code != 200:
            raise SignInFailed("the identity provider did not accept the sign-in code")
        token = response.json().get("access_token")
        if not isinstance(token, str):
            raise SignInFailed("the identity provider sent no access token")
        state = token_state(self.runtime)
        try:
            claims = await state.verifier.verify(token)
            return state.mapper.actor(claims)
        except AuthenticationError as error:
            raise SignInFailed(f"the access token was refused: {error.reason}") from None


def _redirect_uri(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK_PATH
