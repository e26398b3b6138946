"""POST /webhooks/clerk signed as Svix signs: applied once; forgeries and replays refused, nothing changed."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from omni_mcp.admin import svix
from omni_mcp.audit.models import AuditLog
from omni_mcp.auth.claims import organization_slug
from omni_mcp.tenancy.models import WebhookEvent
from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread

SECRET = "whsec_" + base64.b64encode(b"clerk-test-signing-secret-32byte").decode()
ORG_ID = "org_2abcDEF"
SLUG = organization_slug(ORG_ID)


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with fresh_database_url() as url:
        settings = make_test_settings(url, auth={"local_mode": False}, admin={"clerk_webhook_secret": SECRET})
        with serve_in_thread(settings) as running:
            yield running


def deliver(
    gateway: RunningGateway,
    event: dict[str, Any] | bytes,
    *,
    message_id: str | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    sent = int(time.time()) if timestamp is None else timestamp
    headers = {
        "svix-id": message_id,
        "svix-timestamp": str(sent),
        "svix-signature": signature or f"v1,bm90LXRoaXMtb25l {svix.sign(secret, message_id, sent, body)}",
        "content-type": "application/json",
    }
    return httpx.post(gateway.base_url + "/webhooks/clerk", content=body, headers=headers)


def organization_event(kind: str, name: str = "Acme Corp") -> dict[str, Any]:
    return {
        "type": f"organization.{kind}",
        "object": "event",
        "data": {"id": ORG_ID, "name": name, "slug": "acme"},
    }


def membership_event(kind: str, user: str, role: str) -> dict[str, Any]:
    return {
        "type": f"organizationMembership.{kind}",
        "data": {
            "id": "orgmem_1",
            "role": role,
            "organization": {"id": ORG_ID, "name": "Acme Corp", "slug": "acme"},
            "public_user_data": {"user_id": user, "identifier": f"{user}@example.com"},
        },
    }


def organizations(gateway: RunningGateway) -> dict[str, str]:
    return {o["slug"]: o["name"] for o in gateway.runtime.tenancy.list_organizations()}


def audit_count(gateway: RunningGateway) -> int:
    with Session(gateway.runtime.engine) as session:
        return len(session.exec(select(AuditLog.id)).all())


def test_events_are_applied_once_even_when_delivered_twice(gateway: RunningGateway) -> None:
    created = organization_event("created")
    first = deliver(gateway, created, message_id="msg_org_created")
    assert first.status_code == 200 and first.json()["status"] == "applied", first.text
    assert organizations(gateway)[SLUG] == "Acme Corp"
    before = audit_count(gateway)
    again = deliver(gateway, created, message_id="msg_org_created")
    assert again.json()["status"] == "duplicate"
    assert audit_count(gateway) == before

    assert deliver(gateway, organization_event("updated", "Acme Renamed")).status_code == 200
    assert organizations(gateway)[SLUG] == "Acme Renamed"

    for user, role, expected in [("user_new", "org:admin", "admin"), ("user_old", "basic_member", "member")]:
        assert deliver(gateway, membership_event("created", user, role)).status_code == 200
        assert {"user": user, "role": expected, "permissions": []} in gateway.runtime.tenancy.list_members(
            SLUG
        )
    assert deliver(gateway, membership_event("updated", "user_old", "admin")).status_code == 200
    roles = {m["user"]: m["role"] for m in gateway.runtime.tenancy.list_members(SLUG)}
    assert roles == {"user_new": "admin", "user_old": "admin"}
    assert deliver(gateway, membership_event("deleted", "user_old", "admin")).status_code == 200
    assert {m["user"] for m in gateway.runtime.tenancy.list_members(SLUG)} == {"user_new"}

    user = {
        "type": "user.created",
        "data": {
            "id": "user_new",
            "first_name": "Nia",
            "last_name": "Ng",
            "primary_email_address_id": "e1",
            "email_addresses": [
                {"id": "e0", "email_address": "old@x.test"},
                {"id": "e1", "email_address": "nia@x.test"},
            ],
        },
    }
    assert deliver(gateway, user).json()["status"] == "applied"
    assert (
        deliver(gateway, {"type": "user.deleted", "data": {"id": "user_new", "deleted": True}}).status_code
        == 200
    )
    assert gateway.runtime.tenancy.list_members(SLUG) == []

    assert (
        deliver(gateway, {"type": "session.created", "data": {"id": "sess_1"}}).json()["outcome"] == "ignored"
    )

    with Session(gateway.runtime.engine) as session:
        audited = session.exec(select(AuditLog).where(AuditLog.actor == "webhook:clerk")).all()
        recorded = session.exec(select(WebhookEvent)).all()
    actions = {(row.entity_type, row.action) for row in audited}
    assert {
        ("organization", "create"),
        ("organization", "update"),
        ("membership", "create"),
        ("membership", "update"),
        ("membership", "delete"),
        ("user", "update"),
        ("user", "delete"),
    } <= actions
    assert all(row.processed_at is not None for row in recorded)

    assert deliver(gateway, organization_event("deleted")).status_code == 200
    assert SLUG not in organizations(gateway)


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong secret",
        "changed body",
        "old timestamp",
        "future timestamp",
        "no signature",
        "garbage signature",
    ],
)
def test_forged_and_replayed_deliveries_are_refused_and_change_nothing(
    gateway: RunningGateway, tamper: str
) -> None:
    event = organization_event("created", "Forged")
    body = json.dumps(event).encode()
    before = (organizations(gateway), audit_count(gateway))
    message_id = f"msg_forged_{uuid.uuid4().hex}"
    if tamper == "wrong secret":
        response = deliver(
            gateway, body, message_id=message_id, secret="whsec_" + base64.b64encode(b"x" * 32).decode()
        )
    elif tamper == "changed body":
        now = int(time.time())
        signature = svix.sign(SECRET, message_id, now, body)
        response = deliver(
            gateway,
            body.replace(b"Forged", b"Forgex"),
            message_id=message_id,
            timestamp=now,
            signature=signature,
        )
    elif tamper == "old timestamp":
        response = deliver(gateway, body, message_id=message_id, timestamp=int(time.time()) - 6 * 60)
    elif tamper == "future timestamp":
        response = deliver(gateway, body, message_id=message_id, timestamp=int(time.time()) + 6 * 60)
    elif tamper == "no signature":
        response = httpx.post(gateway.base_url + "/webhooks/clerk", content=body)
    else:
        response = deliver(gateway, body, message_id=message_id, signature="v1,AAAA v2,zzz")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (organizations(gateway), audit_count(gateway)) == before
    with Session(gateway.runtime.engine) as session:
        assert session.exec(select(WebhookEvent).where(WebhookEvent.event_id == message_id)).first() is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"type": "organization.created"}', b'{"type": 5, "data": {}}'],
)
def test_malformed_bodies_are_refused_and_change_nothing(gateway: RunningGateway, body: bytes) -> None:
    before = (organizations(gateway), audit_count(gateway))
    response = deliver(gateway, body)
    assert response.status_code == 400, response.text
    assert (organizations(gateway), audit_count(gateway)) == before


def test_a_signed_event_missing_its_fields_is_422_and_changes_nothing(gateway: RunningGateway) -> None:
    before = (organizations(gateway), audit_count(gateway))
    response = deliver(gateway, {"type": "organizationMembership.created", "data": {"role": "org:admin"}})
    assert response.status_code == 422
    assert response.json()["field"] == "data"
    assert (organizations(gateway), audit_count(gateway)) == before


def test_without_a_secret_every_delivery_is_refused(omni_database_url: str) -> None:
    with serve_in_thread(make_test_settings(omni_database_url, auth={"local_mode": False})) as gateway:
        response = deliver(gateway, organization_event("created"))
        assert response.status_code == 503
        assert SLUG not in organizations(gateway)
