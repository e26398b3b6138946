"""OIDC bearer tokens as a core plugin, and the protected-resource metadata the MCP spec asks for.

Active when `auth.issuers` is set: a JWT-shaped bearer token is verified (see omni_mcp.auth.jwt) and its
claims mapped to an Actor. An organization the gateway does not know is refused, or created on first
sight when `auth.unknown_organization = "create"` (through the TenancyService, so it is audited), with
the token's user as its first member.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import anyio.to_thread
from loguru import logger
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.routing import BaseRoute

from omni_mcp.auth.api_keys import looks_like_api_key
from omni_mcp.auth.claims import ClaimMapper
from omni_mcp.auth.credentials import credential_of
from omni_mcp.auth.errors import OrganizationRefused
from omni_mcp.auth.jwt import JwtVerifier, looks_like_jwt
from omni_mcp.auth.resource_metadata import metadata_routes
from omni_mcp.config.effective import UnknownOrganization
from omni_mcp.context import Actor
from omni_mcp.hookspecs import hookimpl
from omni_mcp.runtime import Runtime
from omni_mcp.tenancy.service import ConfigError


@dataclass
class TokenState:
    verifier: JwtVerifier
    mapper: ClaimMapper


_states: WeakKeyDictionary[Runtime, TokenState] = WeakKeyDictionary()


def token_state(runtime: Runtime) -> TokenState:
    state = _states.get(runtime)
    if state is None:
        auth = runtime.settings.auth
        state = _states[runtime] = TokenState(
            JwtVerifier(auth, auth.accepted_audiences),
            ClaimMapper(auth, runtime.settings.tenancy.default_organization),
        )
    return state


@hookimpl
async def actor_from_request(request: Request, runtime: Runtime) -> Actor | None:
    if not runtime.settings.auth.issuers:
        return None
    credential = credential_of(request.headers.raw)
    if credential is None or credential.header != "authorization":
        return None
    if looks_like_api_key(credential.value) or not looks_like_jwt(credential.value):
        return None  # not a JWT: another plugin may know it; if none does, the request is refused
    state = token_state(runtime)
    claims = await state.verifier.verify(credential.value)
    actor = state.mapper.actor(claims)
    await _ensure_organization(runtime, actor, state.mapper.organization(claims)[1])
    return actor


async def _ensure_organization(runtime: Runtime, actor: Actor, claimed: str) -> None:
    try:
        await runtime.org_configs.get(actor.organization)
        return
    except UnknownOrganization:
        pass
    if runtime.settings.auth.unknown_organization != "create":
        logger.info("token of {} names organization {}, unknown here", actor.id, actor.organization)
        raise OrganizationRefused("organization not known here")

    def create() -> None:
        who = f"oidc:{actor.id}"[:200]
        try:
            runtime.tenancy.create_organization(actor.organization, claimed[:200], actor=who)
        except (ConfigError, IntegrityError):  # created meanwhile by another request or process
            return
        # Its first member is whoever brought it, with the role the token gave (for `member list`).
        runtime.tenancy.add_member(actor.organization, actor.id, actor.role, actor=who)
        logger.info("created organization {} on first sight of a token naming it", actor.organization)

    await anyio.to_thread.run_sync(create)


@hookimpl
def register_routes(runtime: Runtime) -> list[BaseRoute]:
    return list(metadata_routes(runtime.settings))
