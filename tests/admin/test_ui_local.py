"""The admin UI in local mode (loopback): the local owner, without signing in; cookie flags behind https."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from omni_mcp.testing import RunningGateway, fresh_database_url, make_test_settings, serve_in_thread
from tests.sample_plugins import CrmPlugin


@pytest.fixture(scope="module")
def local() -> Iterator[RunningGateway]:
    with (
        fresh_database_url() as url,
        serve_in_thread(make_test_settings(url), [("crm", CrmPlugin())]) as gateway,
    ):
        yield gateway


def test_local_mode_is_the_local_owner_without_sign_in(local: RunningGateway) -> None:
    page = httpx.get(local.base_url + "/admin")
    assert page.status_code == 200
    assert "Overview" in page.text and "local · operator" in page.text
    assert 'action="/admin/orgs"' in page.text  # the local user may create organizations
    assert "Sign out" not in page.text  # nothing to sign out of


def test_forms_work_with_the_token_and_not_without(local: RunningGateway) -> None:
    with httpx.Client(base_url=local.base_url) as client, httpx.Client(base_url=local.base_url) as other:
        csrf_round_trip(client, other)


def csrf_round_trip(client: httpx.Client, other: httpx.Client) -> None:
    page = client.get("/admin/orgs/default")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    refused = client.post("/admin/orgs/default/members", data={"user": "eve", "role": "owner"})
    assert refused.status_code == 403
    added = client.post(
        "/admin/orgs/default/members", data={"user": "eve", "role": "member", "csrf_token": token[1]}
    )
    assert added.status_code == 303
    assert "eve" in client.get("/admin/orgs/default").text
    # A token of another browser (cookie and field from different sessions) is refused too.
    other.get("/admin/orgs/default")
    mixed = other.post("/admin/orgs/default/members/remove", data={"user": "eve", "csrf_token": token[1]})
    assert mixed.status_code == 403


def test_cookies_are_secure_behind_https(local: RunningGateway) -> None:
    plain = httpx.get(local.base_url + "/admin")
    secure = httpx.get(local.base_url + "/admin", headers={"x-forwarded-proto": "https"})
    plain_cookie = plain.headers["set-cookie"].lower()
    secure_cookie = secure.headers["set-cookie"].lower()
    assert "httponly" in plain_cookie and "samesite=lax" in plain_cookie and "secure" not in plain_cookie
    assert "httponly" in secure_cookie and "secure" in secure_cookie


def test_bad_input_in_a_form_is_a_clear_page_not_a_crash(local: RunningGateway) -> None:
    with httpx.Client(base_url=local.base_url) as client:
        bad_input(client)


def bad_input(client: httpx.Client) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin").text)
    assert token is not None
    response = client.post("/admin/orgs", data={"slug": "Not A Slug", "csrf_token": token[1]})
    assert response.status_code == 422
    assert "slug" in response.text
    response = client.post(
        "/admin/orgs/default/services/crm", data={"setting:page_size": "many", "csrf_token": token[1]}
    )
    assert response.status_code == 422 and "page_size" in response.text
    assert client.get("/admin/orgs/default/audit?cursor=zzz").status_code == 422
    assert client.get("/admin/orgs/nowhere").status_code == 404


def test_the_audit_pages_export_what_they_filter(local: RunningGateway) -> None:
    with httpx.Client(base_url=local.base_url) as client:
        page = client.get("/admin/orgs/default/audit", params={"entity_type": "organization"}).text
        link = re.search(r'href="(/admin/orgs/default/audit\.csv\?[^"]*)"', page)
        assert link is not None
        exported = client.get(link[1].replace("&amp;", "&"))
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = exported.text.splitlines()
        assert rows[0].startswith("id,created_at,actor") and len(rows) >= 2
        assert all(",organization," in row for row in rows[1:])
        lines = client.get("/admin/orgs/default/calls.jsonl")
        assert lines.status_code == 200 and lines.headers["content-type"] == "application/x-ndjson"
        assert client.get("/admin/orgs/default/secrets.csv").status_code == 404


def test_long_lists_come_in_pages(local: RunningGateway) -> None:
    for index in range(55):
        local.configure(lambda t, i=index: t.add_member("default", f"user_{i:03d}", "member", actor="test"))
    with httpx.Client(base_url=local.base_url) as client:
        first = client.get("/admin/orgs/default").text
        assert "Page 1 of 2" in first and "user_000" in first and "user_054" not in first
        second = client.get("/admin/orgs/default", params={"page": "2"}).text
        assert "user_054" in second and "user_000" not in second
        assert "Page 2 of 2" in client.get("/admin/orgs/default", params={"page": "999"}).text
        assert client.get("/admin/orgs/default", params={"page": "-1"}).status_code == 200
