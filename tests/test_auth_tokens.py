"""OIDC tokens: JWKS caching and bounded refresh, claim mapping, unknown organizations, issuer outages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from omni_mcp.audit.models import AuditLog
from omni_mcp.auth.claims import ClaimMapper, organization_slug
from omni_mcp.auth.errors import InvalidCredential, OrganizationRefused
from omni_mcp.auth.jwt import JwtVerifier
from omni_mcp.settings import AuthSettings, SettingsError, load_settings
from omni_mcp.testing import RunningGateway, make_test_settings, serve_in_thread
from tests.oidc_issuer import AUDIENCE, TestIssuer, running_issuer


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with running_issuer() as running:
        yield running


def token_settings(database_url: str, issuer: TestIssuer, **auth: Any) -> Any:
    values = {"local_mode": False, "issuers": [issuer.url], "resource": AUDIENCE, **auth}
    return make_test_settings(database_url, auth=values)


def whoami(gateway: RunningGateway, token: str) -> httpx.Response:
    """Any authenticated path will do: an unknown one is 404 once authenticated, 401 before."""
    return httpx.get(gateway.base_url + "/nothing-here", headers={"authorization": f"Bearer {token}"})


INTERVAL = 4.0  # the issuer's keys are refreshed at most this often


def test_keys_are_fetched_once_and_refreshed_at_most_once_per_interval(
    omni_database_url: str, issuer: TestIssuer
) -> None:
    settings = token_settings(omni_database_url, issuer, jwks_refresh_min_interval=INTERVAL)
    with serve_in_thread(settings) as gateway:
        gateway.configure(lambda t: t.create_organization("acme", actor="test"))
        for _ in range(2):
            assert whoami(gateway, issuer.token()).status_code == 404
            assert whoami(gateway, issuer.token(key="ec")).status_code == 404
        assert (issuer.metadata_fetches, issuer.jwks_fetches) == (1, 1)  # cached, not fetched per request

        # Unknown key ids right after a fetch: refused without asking the issuer again. Few requests, so
        # they all fall inside the interval even on a busy machine (a request can take a second there).
        for _ in range(3):
            assert whoami(gateway, issuer.token(key="stranger")).status_code == 401
        assert issuer.jwks_fetches == 1

        time.sleep(INTERVAL + 0.1)
        for _ in range(3):  # the interval has passed: one refresh for all of them, still unknown
            assert whoami(gateway, issuer.token(key="stranger")).status_code == 401
        assert issuer.jwks_fetches == 2

        # The issuer rotates in a new key: found by the next refresh the interval allows.
        issuer.publish("rotated", RSAKey.generate_key(2048, parameters={"kid": "rotated-1"}))
        assert whoami(gateway, issuer.token(key="rotated")).status_code == 401
        assert issuer.jwks_fetches == 2
        time.sleep(INTERVAL + 0.1)
        assert whoami(gateway, issuer.token(key="rotated")).status_code == 404
        assert whoami(gateway, issuer.token(key="rotated")).status_code == 404
        assert issuer.jwks_fetches == 3
        assert issuer.metadata_fetches == 1


def test_an_unreachable_issuer_is_503_not_401(omni_database_url: str, issuer: TestIssuer) -> None:
    from omni_mcp.testing import free_port

    absent = f"http://127.0.0.1:{free_port()}"
    settings = make_test_settings(
        omni_database_url,
        auth={"local_mode": False, "issuers": [absent], "resource": AUDIENCE, "http_timeout": 2},
    )
    with serve_in_thread(settings) as gateway:
        response = whoami(gateway, issuer.token(iss=absent))
        assert response.status_code == 503
        assert response.json() == {"error": "the token issuer's keys are unavailable"}
        assert response.headers["retry-after"] == "5"


def test_unknown_organizations_can_be_created_on_first_sight(
    omni_database_url: str, issuer: TestIssuer
) -> None:
    settings = token_settings(omni_database_url, issuer, unknown_organization="create")
    with serve_in_thread(settings) as gateway:
        clerk_id = "org_2NewCoXYZ"
        slug = organization_slug(clerk_id)
        assert slug.startswith("org-2newcoxyz-")
        assert whoami(gateway, issuer.token(org_id=clerk_id)).status_code == 404
        assert whoami(gateway, issuer.token(org_id=clerk_id)).status_code == 404
        organizations = {o["slug"]: o for o in gateway.runtime.tenancy.list_organizations()}
        assert organizations[slug]["name"] == clerk_id
        with Session(gateway.runtime.engine) as session:
            audit = session.exec(
                select(AuditLog).where(AuditLog.entity_type == "organization", AuditLog.entity_id == slug)
            ).all()
        assert [(row.action, row.actor) for row in audit] == [("create", "oidc:user_alice")]
        members = gateway.runtime.tenancy.list_members(slug)
        assert [(m["user"], m["role"]) for m in members] == [("user_alice", "admin")]


def test_tokens_without_an_organization(omni_database_url: str, issuer: TestIssuer) -> None:
    with serve_in_thread(token_settings(omni_database_url, issuer)) as gateway:
        response = whoami(gateway, issuer.token(org_id=None))
        assert response.status_code == 403
        assert response.json() == {"error": "token names no organization"}
    settings = token_settings(omni_database_url, issuer, missing_organization="default")
    with serve_in_thread(settings) as gateway:
        assert whoami(gateway, issuer.token(org_id=None)).status_code == 404


def mapper(**auth: Any) -> ClaimMapper:
    return ClaimMapper(AuthSettings(**auth), "default")


def test_claims_map_to_an_actor_clerk_v1_style() -> None:
    actor = mapper().actor(
        {"sub": "user_1", "org_id": "acme", "org_role": "org:admin", "permissions": ["audit:read", 3]}
    )
    assert (actor.id, actor.organization, actor.role, actor.kind) == ("user_1", "acme", "admin", "user")
    assert actor.permissions == frozenset({"audit:read"})
    assert actor.allowed_tools is None


def test_claims_map_through_nested_names_and_a_role_map() -> None:
    clerk_v2 = mapper(
        claim_organization="o.slg",
        claim_role="o.rol",
        claim_permissions="scope",
        role_map={"boss": "owner"},
    )
    actor = clerk_v2.actor(
        {"sub": "u", "o": {"slg": "acme", "rol": "boss"}, "scope": "tools:call audit:read"}
    )
    assert (actor.organization, actor.role) == ("acme", "owner")
    assert actor.permissions == frozenset({"tools:call", "audit:read"})
    # A role that maps to nothing gives the default role; plain role names map to themselves.
    assert clerk_v2.actor({"sub": "u", "o": {"slg": "acme", "rol": "org:guest"}}).role == "member"
    assert clerk_v2.actor({"sub": "u", "o": {"slg": "acme", "rol": "admin"}}).role == "admin"


def test_organization_values_that_are_not_slugs_get_distinct_slugs() -> None:
    assert organization_slug("acme") == "acme"
    upper, lower = organization_slug("org_ABC"), organization_slug("org_abc")
    assert upper != lower  # ids differing only in case never share an organization
    assert upper.startswith("org-abc-") and len(upper) <= 100
    with pytest.raises(OrganizationRefused):
        mapper().actor({"sub": "u"})
    with pytest.raises(InvalidCredential):
        mapper().actor({"sub": "u", "org_id": ["acme"]})


@pytest.mark.anyio
async def test_a_symmetric_algorithm_never_verifies_with_a_public_key(issuer: TestIssuer) -> None:
    """Even if HS256 slipped into the allow-list, the RSA key's type would not fit it."""
    unsafe = AuthSettings.model_construct(
        **{**AuthSettings(issuers=[issuer.url], resource=AUDIENCE).__dict__, "algorithms": ["HS256", "RS256"]}
    )
    verifier = JwtVerifier(unsafe, [AUDIENCE])
    assert (await verifier.verify(issuer.token()))["sub"] == "user_alice"
    with pytest.raises(InvalidCredential, match="token signature invalid"):
        await verifier.verify(issuer.hmac_with_public_key())


@pytest.mark.anyio
async def test_a_remembered_token_still_has_its_claims_checked_every_time(issuer: TestIssuer) -> None:
    settings = AuthSettings(issuers=[issuer.url], resource=AUDIENCE, leeway_seconds=0)
    verifier = JwtVerifier(settings, [AUDIENCE])
    token = issuer.token(exp=int(time.time()) + 2)
    for _ in range(3):
        assert (await verifier.verify(token))["sub"] == "user_alice"
    time.sleep(2.1)
    with pytest.raises(InvalidCredential, match="token expired"):
        await verifier.verify(token)
    other_audience = JwtVerifier(settings, ["https://elsewhere.test/mcp"])  # its own memory, its own checks
    with pytest.raises(InvalidCredential, match="token audience is not this resource"):
        await other_audience.verify(issuer.token())


@pytest.mark.anyio
@pytest.mark.parametrize("cache_seconds", [300.0, 0.0])
async def test_a_token_whose_key_the_issuer_withdrew_is_refused_once_keys_are_refreshed(
    issuer: TestIssuer, cache_seconds: float
) -> None:
    settings = AuthSettings(
        issuers=[issuer.url],
        resource=AUDIENCE,
        jwks_cache_seconds=1.0,
        jwks_refresh_min_interval=0.0,
        token_cache_seconds=cache_seconds,
    )
    verifier = JwtVerifier(settings, [AUDIENCE])
    token = issuer.token(key="rsa")
    assert (await verifier.verify(token))["sub"] == "user_alice"
    assert (await verifier.verify(token))["sub"] == "user_alice"
    issuer.published.remove("rsa")  # the issuer stops vouching for that key
    time.sleep(1.1)  # our copy of its keys goes stale
    with pytest.raises(InvalidCredential, match="token signing key unknown"):
        await verifier.verify(token)
    assert (await verifier.verify(issuer.token(key="ec")))["sub"] == "user_alice"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"algorithms": ["none"]}, "algorithm 'none' is not allowed"),
        ({"algorithms": ["HS256"]}, "algorithm 'HS256' is not allowed"),
        ({"algorithms": []}, "at least one algorithm"),
        ({"issuers": ["http://idp.example.com"]}, "must use https"),
        ({"issuers": ["https://idp.example.com"]}, "needs auth.resource"),
        ({"resource": "mcp.example.com/mcp"}, "absolute http(s) URL"),
        ({"public_paths": ["/"]}, "must start with '/' and not be the root"),
    ],
)
def test_unsafe_auth_settings_are_refused(
    auth: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("OMNI_MCP_"):
            monkeypatch.delenv(key)
    with pytest.raises(SettingsError) as caught:
        load_settings(auth=auth)
    assert message in str(caught.value)
