"""The admin REST API through a real server: success, field-naming errors, 401, 403, 404, 412, OpenAPI."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest
from openapi_spec_validator import validate

from omni_mcp.admin.api import ENDPOINTS
from omni_mcp.admin.endpoints import Endpoint
from tests.admin.conftest import AdminWorld

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body  # type: ignore[no-any-return]


def concrete(path: str) -> str:
    return re.sub(
        r"{(\w+)}", lambda m: {"org": "acme", "name": "crm_follow_up", "server": "crm"}.get(m[1], "x"), path
    )


def test_the_openapi_document_is_valid_and_lists_every_route(world: AdminWorld) -> None:
    document = httpx.get(world.api + "/openapi.json").json()  # public: no credential needed
    validate(document)
    assert document["openapi"].startswith("3.1")
    served = {(e.method.lower(), "/api/v1" + e.path) for e in ENDPOINTS}
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert served == documented
    routes = {
        (method.lower(), route.path)
        for route in world.gateway.app.router.routes
        if getattr(route, "path", "").startswith("/api/v1/") and route.path != "/api/v1/openapi.json"
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert routes == served


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_every_endpoint_refuses_without_credentials(world: AdminWorld, endpoint: Endpoint) -> None:
    response = world.call(None, endpoint.method, concrete(endpoint.path), params={"uri": "x"})
    assert_problem(response, 401)
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.path != "/me"], ids=lambda e: f"{e.method} {e.path}"
)
@pytest.mark.parametrize("who", ["member", "other"])
def test_members_and_other_organizations_admins_are_forbidden(
    world: AdminWorld, endpoint: Endpoint, who: str
) -> None:
    """Refused before the input is read: an empty (invalid) body still gets 403, not 422."""
    response = world.call(who, endpoint.method, concrete(endpoint.path), params={"uri": "x"}, json={})
    if who == "other" and endpoint.method == "GET" and endpoint.path in ("/plugins", "/organizations"):
        assert response.status_code == 200  # its own organization's view; nothing of acme's
        assert "acme" not in response.text
        return
    assert_problem(response, 403)


def test_an_invalid_body_is_refused_naming_the_field(world: AdminWorld) -> None:
    response = world.call("operator", "POST", "/organizations", json={"slug": "Not A Slug"})
    assert_problem(response, 422, "slug")
    response = world.call("operator", "POST", "/organizations", json={"slug": "ok", "colour": "red"})
    assert_problem(response, 422, "colour")
    response = world.call("owner", "PUT", "/organizations/acme/members/u1", json={"role": "boss"})
    assert_problem(response, 422, "role")
    response = world.call(
        "admin",
        "PUT",
        "/organizations/acme/services/crm",
        json={"settings": {"api_key": "k", "page_size": 0}},
    )
    assert_problem(response, 422, "settings.page_size")
    response = world.call("admin", "PUT", "/organizations/acme/services/crm", json={"settings": {"nope": 1}})
    assert_problem(response, 422, "settings.nope")
    response = world.call(
        "admin", "POST", "/organizations/acme/prompts/crm_follow_up/render", json={"arguments": {}}
    )
    assert_problem(response, 422, "arguments")
    response = world.call("admin", "GET", "/organizations/acme/audit/changes", params={"limit": "0"})
    assert_problem(response, 422, "limit")
    response = world.call(
        "admin",
        "POST",
        "/organizations/acme/api-keys",
        content=b"{",
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "body")
    response = world.call("admin", "POST", "/organizations/acme/api-keys", content=b"role=admin")
    assert_problem(response, 415)


def test_a_forbidden_write_with_a_valid_body_is_403(world: AdminWorld) -> None:
    for who in ("member", "other"):
        assert_problem(world.call(who, "PUT", "/organizations/acme/members/u1", json={"role": "member"}), 403)
        assert_problem(
            world.call(who, "PUT", "/organizations/acme/services/crm", json={"enabled": False}), 403
        )
        assert_problem(world.call(who, "PUT", "/organizations/acme/prompts/p1", json={"template": "hi"}), 403)
        assert_problem(world.call(who, "POST", "/organizations/acme/api-keys", json={"role": "member"}), 403)
    # An org admin does not create organizations, nor manage members (the owner does), nor hand out more.
    assert_problem(world.call("admin", "POST", "/organizations", json={"slug": "mine"}), 403)
    assert_problem(world.call("admin", "PUT", "/organizations/acme/members/u1", json={"role": "member"}), 403)
    assert_problem(
        world.call("admin", "POST", "/organizations/acme/api-keys", json={"role": "owner"}), 403, "role"
    )


def test_unknown_things_are_404(world: AdminWorld) -> None:
    assert_problem(world.call("operator", "GET", "/organizations/nowhere"), 404)
    assert_problem(world.call("admin", "GET", "/organizations/acme/services/nothing"), 404, "server")
    assert_problem(world.call("admin", "GET", "/organizations/acme/prompts/nothing"), 404, "name")
    assert_problem(
        world.call("admin", "GET", "/organizations/acme/resource", params={"uri": "x://y"}), 404, "uri"
    )
    assert_problem(world.call("admin", "DELETE", "/organizations/acme/api-keys/omk_00000000"), 404)
    assert_problem(world.call("owner", "DELETE", "/organizations/acme/members/nobody"), 404, "user")
    # Another organization's key is not found from here, whoever asks.
    other_key = world.call("other", "GET", "/organizations/globex/api-keys").json()["items"][0]["id"]
    assert_problem(world.call("admin", "DELETE", f"/organizations/acme/api-keys/{other_key}"), 404)


def test_organizations_lifecycle_with_etags(world: AdminWorld) -> None:
    created = world.call("operator", "POST", "/organizations", json={"slug": "initech", "name": "Initech"})
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "initech"
    assert_problem(world.call("operator", "POST", "/organizations", json={"slug": "initech"}), 409, "slug")
    listed = world.call("operator", "GET", "/organizations").json()["items"]
    assert {"acme", "globex", "initech"} <= {o["slug"] for o in listed}
    assert [o["slug"] for o in world.call("admin", "GET", "/organizations").json()["items"]] == ["acme"]

    read = world.call("operator", "GET", "/organizations/initech")
    etag = read.headers["etag"]
    renamed = world.call(
        "operator",
        "PATCH",
        "/organizations/initech",
        json={"name": "Initech Inc"},
        headers={"if-match": etag},
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Initech Inc"
    assert renamed.headers["etag"] != etag
    # A second admin who read the old version is refused instead of overwriting silently.
    stale = world.call(
        "operator", "PATCH", "/organizations/initech", json={"name": "Other"}, headers={"if-match": etag}
    )
    assert_problem(stale, 412, "If-Match")
    assert world.call("operator", "GET", "/organizations/initech").json()["name"] == "Initech Inc"
    assert_problem(
        world.call("operator", "DELETE", "/organizations/initech", headers={"if-match": etag}), 412
    )
    # What it owns goes with it, whatever the database's foreign-key enforcement.
    world.call("operator", "PUT", "/organizations/initech/prompts/own", json={"template": "hi"})
    world.call("operator", "PUT", "/organizations/initech/members/user_ivy", json={"role": "admin"})
    key = world.call("operator", "POST", "/organizations/initech/api-keys", json={"role": "admin"}).json()[
        "key"
    ]
    assert httpx.get(world.api + "/me", headers={"x-api-key": key}).status_code == 200
    deleted = world.call(
        "operator", "DELETE", "/organizations/initech", headers={"if-match": renamed.headers["etag"]}
    )
    assert deleted.status_code == 204
    assert_problem(world.call("operator", "GET", "/organizations/initech"), 404)
    assert httpx.get(world.api + "/me", headers={"x-api-key": key}).status_code == 401
    assert_problem(world.call("operator", "DELETE", "/organizations/default"), 422, "slug")


def test_members(world: AdminWorld) -> None:
    put = world.call("owner", "PUT", "/organizations/acme/members/user_bob", json={"role": "member"})
    assert put.status_code == 200 and put.json() == {"user": "user_bob", "role": "member", "permissions": []}
    etag = put.headers["etag"]
    promoted = world.call(
        "owner",
        "PUT",
        "/organizations/acme/members/user_bob",
        json={"role": "admin"},
        headers={"if-match": etag},
    )
    assert promoted.json()["role"] == "admin"
    assert_problem(
        world.call(
            "owner",
            "PUT",
            "/organizations/acme/members/user_bob",
            json={"role": "member"},
            headers={"if-match": etag},
        ),
        412,
    )
    members = world.call("admin", "GET", "/organizations/acme/members").json()["items"]
    assert {"user": "user_bob", "role": "admin", "permissions": []} in members
    assert (
        world.call("owner", "GET", "/organizations/acme/members/user_bob").headers["etag"]
        == promoted.headers["etag"]
    )
    assert world.call("owner", "DELETE", "/organizations/acme/members/user_bob").status_code == 204


def test_services_settings_are_validated_and_secrets_never_returned(world: AdminWorld) -> None:
    secret = "sk-very-secret-value-123"
    put = world.call(
        "admin",
        "PUT",
        "/organizations/acme/services/crm",
        json={"enabled": True, "settings": {"api_key": secret}},
    )
    assert put.status_code == 200, put.text
    assert put.json()["settings"]["api_key"] == "********"
    listed = world.call("admin", "GET", "/organizations/acme/services")
    assert secret not in listed.text and secret not in put.text
    crm = next(row for row in listed.json()["items"] if row["server"] == "crm")
    assert crm["settings_schema"]["properties"]["api_key"]["x-secret"] is True
    one = world.call("admin", "GET", "/organizations/acme/services/crm")
    assert one.headers["etag"] == put.headers["etag"]
    off = world.call("admin", "PUT", "/organizations/acme/services/demo", json={"enabled": False})
    assert off.json()["enabled"] is False
    tools = {t["name"] for t in world.call("admin", "GET", "/organizations/acme/tools").json()["items"]}
    assert "crm_whoami" in tools and not any(name.startswith("demo_") for name in tools)
    world.call("admin", "PUT", "/organizations/acme/services/demo", json={"enabled": True})
    assert_problem(
        world.call(
            "admin",
            "PUT",
            "/organizations/acme/services/crm",
            json={"enabled": False},
            headers={"if-match": '"stale"'},
        ),
        412,
    )
    changes = world.call("admin", "GET", "/organizations/acme/audit/changes", params={"format": "jsonl"})
    assert secret not in changes.text


def test_prompts_override_render_hide_delete(world: AdminWorld) -> None:
    base = "/organizations/acme/prompts"
    listed = {p["name"]: p for p in world.call("admin", "GET", base).json()["items"]}
    assert listed["crm_follow_up"]["source"] == "default"
    assert listed["demo_greet"]["server"] == "demo"
    read = world.call("admin", "GET", base + "/crm_follow_up")
    put = world.call(
        "admin",
        "PUT",
        base + "/crm_follow_up",
        json={"template": "Be brief with {customer}", "arguments": [{"name": "customer", "required": True}]},
        headers={"if-match": read.headers["etag"]},
    )
    assert put.status_code == 200, put.text
    entry = world.call("admin", "GET", base + "/crm_follow_up").json()
    assert entry["source"] == "override" and entry["default_template"] == "Default follow-up for {customer}"
    rendered = world.call(
        "admin", "POST", base + "/crm_follow_up/render", json={"arguments": {"customer": "Ann"}}
    )
    assert rendered.json()["messages"] == [{"role": "user", "text": "Be brief with Ann"}]
    assert rendered.json()["default_messages"] == [{"role": "user", "text": "Default follow-up for Ann"}]
    assert "-Default follow-up for Ann" in rendered.json()["diff"]
    draft = world.call(
        "admin",
        "POST",
        base + "/crm_follow_up/render",
        json={"arguments": {"customer": "Ann"}, "template": "Yo {customer}"},
    )
    assert draft.json()["messages"][0]["text"] == "Yo Ann"
    code = world.call("admin", "POST", base + "/crm_code_prompt/render", json={})
    assert_problem(code, 422, "name")
    stale = world.call(
        "admin",
        "PUT",
        base + "/crm_follow_up",
        json={"template": "x"},
        headers={"if-match": read.headers["etag"]},
    )
    assert_problem(stale, 412)
    hidden = world.call("admin", "POST", base + "/demo_greet/hide")
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    listed = {p["name"]: p for p in world.call("admin", "GET", base).json()["items"]}
    assert listed["demo_greet"]["source"] == "hidden"
    assert world.call("admin", "DELETE", base + "/demo_greet").status_code == 204
    assert_problem(world.call("admin", "DELETE", base + "/demo_greet"), 404)
    assert_problem(world.call("admin", "POST", base + "/never_heard/hide"), 404, "name")
    assert_problem(world.call("admin", "PUT", base + "/bad", json={"template": "{undeclared}"}), 422)


def test_resources(world: AdminWorld) -> None:
    base = "/organizations/acme/resource"
    uri = {"uri": "crm://playbook"}
    listed = {
        r["uri"]: r for r in world.call("admin", "GET", "/organizations/acme/resources").json()["items"]
    }
    assert listed["crm://playbook"]["source"] == "default"
    put = world.call("admin", "PUT", base, params=uri, json={"text": "our playbook"})
    assert put.status_code == 200, put.text
    one = world.call("admin", "GET", base, params=uri)
    assert one.json()["source"] == "override" and one.json()["text"] == "our playbook"
    assert one.headers["etag"] == put.headers["etag"]
    hidden = world.call(
        "admin", "POST", base + "/hide", params=uri, headers={"if-match": put.headers["etag"]}
    )
    assert hidden.status_code == 200
    assert_problem(
        world.call(
            "admin", "PUT", base, params=uri, json={"text": "x"}, headers={"if-match": put.headers["etag"]}
        ),
        412,
    )
    assert_problem(world.call("admin", "PUT", base, params=uri, json={"text": 5}), 422, "text")
    assert_problem(world.call("admin", "GET", base), 422, "uri")
    assert world.call("admin", "DELETE", base, params=uri).status_code == 204


def test_api_keys_are_shown_once_and_revoked(world: AdminWorld) -> None:
    created = world.call(
        "admin", "POST", "/organizations/acme/api-keys", json={"role": "member", "name": "ci"}
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    key_id = created.json()["api_key"]["id"]
    listed = world.call("admin", "GET", "/organizations/acme/api-keys")
    assert key not in listed.text and key_id in listed.text
    assert httpx.get(world.api + "/me", headers={"x-api-key": key}).json()["role"] == "member"
    revoked = world.call("admin", "DELETE", f"/organizations/acme/api-keys/{key_id}")
    assert revoked.json()["status"] == "revoked"
    assert httpx.get(world.api + "/me", headers={"x-api-key": key}).status_code == 401
    assert_problem(
        world.call(
            "admin", "POST", "/organizations/acme/api-keys", json={"role": "member", "expires_in": "soon"}
        ),
        422,
        "expires_in",
    )
    assert_problem(
        world.call(
            "admin",
            "POST",
            "/organizations/acme/api-keys",
            json={"role": "member", "permissions": ["organizations:manage"]},
        ),
        403,
        "permissions",
    )


def test_audit_pages_filters_and_exports(world: AdminWorld) -> None:
    for index in range(5):
        world.call(
            "admin", "PUT", f"/organizations/acme/prompts/page_{index}", json={"template": f"t{index}"}
        )
    first = world.call(
        "admin", "GET", "/organizations/acme/audit/changes", params={"limit": 2, "entity_type": "prompt"}
    )
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    second = world.call(
        "admin",
        "GET",
        "/organizations/acme/audit/changes",
        params={"limit": 2, "entity_type": "prompt", "cursor": page["next_cursor"]},
    ).json()
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in page["items"]})
    assert all(i["id"] < page["items"][-1]["id"] for i in second["items"])
    exported = world.call(
        "admin", "GET", "/organizations/acme/audit/changes", params={"format": "csv", "action": "create"}
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and all(row["action"] == "create" for row in rows)
    lines = world.call(
        "admin", "GET", "/organizations/acme/audit/changes", params={"format": "jsonl"}
    ).text.splitlines()
    assert all(json.loads(line)["id"] for line in lines)
    # Audit rows of another organization never show.
    assert all(json.loads(line)["entity_id"] != "globex" for line in lines)
    calls = world.call("admin", "GET", "/organizations/acme/audit/calls")
    assert calls.status_code == 200 and "items" in calls.json()


def test_me_and_plugins(world: AdminWorld) -> None:
    assert world.call("operator", "GET", "/me").json()["operator"] is True
    assert world.call("admin", "GET", "/me").json()["operator"] is False
    plugins = {p["name"]: p for p in world.call("admin", "GET", "/plugins").json()["items"]}
    assert plugins["crm"]["status"] == "healthy"
