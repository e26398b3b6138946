"""The plugin as users run it: `omni-mcp serve` in a subprocess finds it through its entry point, an
admin configures it with `omni-mcp service set`, and the official MCP client calls every tool in both
protocol eras against the fake Linear API.

Two servers share one database: one serves organization `default` (Alice's key), the other `acme`
(Bob's key), so the fake can check that each organization reaches Linear with its own key only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mcp
import mcp.types as types
import pytest
from cryptography.fernet import Fernet
from fake_linear import ALICE_KEY, BOB_KEY, ENG_ISSUES, FakeLinear, ident
from mcp.shared.exceptions import MCPError

from omni_mcp.testing import free_port, fresh_database_url

pytestmark = pytest.mark.anyio

# Fast retries: Linear's retry-after of 1 s is capped to 50 ms here.
RETRIES = ["max_retries=2", "retry_backoff_seconds=0.01", "max_retry_wait_seconds=0.05"]
TOOLS = {
    "linear_get_viewer",
    "linear_list_teams",
    "linear_list_users",
    "linear_list_issues",
    "linear_search_issues",
    "linear_get_issue",
    "linear_create_issue",
    "linear_update_issue",
    "linear_list_comments",
    "linear_add_comment",
    "linear_list_workflow_states",
    "linear_list_labels",
    "linear_list_projects",
    "linear_list_cycles",
}


@dataclass(frozen=True)
class Gateways:
    default: str  # MCP endpoint serving organization "default"
    acme: str  # MCP endpoint serving organization "acme"
    logs: list[Path]
    cli_output: str
    env: dict[str, str]


def omni(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"omni-mcp {' '.join(args[:3])} failed:\n{result.stderr}"
    return result.stdout + result.stderr


def start(env: dict[str, str], log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "omni_mcp", "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"omni-mcp serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return base + "/mcp", process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"omni-mcp serve did not become healthy:\n{log.read_text()}")


@pytest.fixture(scope="module")
def gateways(fake_linear_server: FakeLinear, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    folder = tmp_path_factory.mktemp("linear-e2e")
    with fresh_database_url() as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
        env.update(
            OMNI_MCP_DATABASE__URL=database_url,
            OMNI_MCP_PLUGINS__ALLOW='["linear"]',
            OMNI_MCP_SECURITY__ENCRYPTION_KEYS=json.dumps([Fernet.generate_key().decode()]),
            OMNI_MCP_LOGGING__LEVEL="DEBUG",
            # This module sends hundreds of MCP requests in seconds; the gateway's own per-caller rate
            # limit is not what it tests (Linear's rate limiting is, through the fake).
            OMNI_MCP_RATE_LIMIT__ENABLED="false",
            # The operator points the plugin at the fake for every organization (no org may change it).
            OMNI_MCP_PLUGINS__SETTINGS=json.dumps({"linear": {"base_url": fake_linear_server.url}}),
        )
        output = omni(env, "org", "create", "acme")  # "default" exists from the first command on
        output += omni(
            env,
            "service",
            "set",
            "default",
            "linear",
            f"api_key={ALICE_KEY}",
            "default_team=ENG",
            *RETRIES,
        )
        output += omni(env, "service", "set", "acme", "linear", f"api_key={BOB_KEY}", *RETRIES)
        logs = [folder / "default.log", folder / "acme.log"]
        default_url, default_process = start(env, logs[0])
        try:
            acme_url, acme_process = start({**env, "OMNI_MCP_TENANCY__DEFAULT_ORGANIZATION": "acme"}, logs[1])
        except BaseException:
            default_process.kill()
            raise
        try:
            yield Gateways(default_url, acme_url, logs, output, env)
        finally:
            for process in (default_process, acme_process):
                process.send_signal(signal.SIGTERM)
            for process in (default_process, acme_process):
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


async def call(
    url: str, era: str, tool: str, arguments: dict[str, Any] | None = None
) -> types.CallToolResult:
    async with mcp.Client(url, mode=era) as client:
        return await client.call_tool(tool, arguments or {})


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


def ok(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


def error(result: types.CallToolResult) -> str:
    assert result.is_error, f"expected an error, got: {text_of(result)}"
    return text_of(result)


# discovery and schemas


async def test_serves_every_tool_with_described_inputs(gateways: Gateways, era: str) -> None:
    async with mcp.Client(gateways.default, mode=era) as client:
        tools = {
            tool.name: tool for tool in (await client.list_tools()).tools if tool.name.startswith("linear_")
        }
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 30, tool.name
        for name, spec in tool.input_schema.get("properties", {}).items():
            assert spec.get("description"), f"{tool.name}.{name} has no description"
    assert tools["linear_create_issue"].input_schema["required"] == ["title"]
    assert tools["linear_list_issues"].input_schema["properties"]["priority"]["anyOf"][0]["maximum"] == 4
    assert (
        tools["linear_list_issues"].annotations is not None
        and tools["linear_list_issues"].annotations.read_only_hint
    )
    assert tools["linear_create_issue"].annotations is not None
    assert tools["linear_create_issue"].annotations.read_only_hint is False


# one test per tool


async def test_get_viewer(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    viewer = ok(await call(gateways.default, era, "linear_get_viewer"))["viewer"]
    assert viewer["email"] == "alice@acme.test" and viewer["organization"]["urlKey"] == "acme"


async def test_list_teams(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    result = await call(gateways.default, era, "linear_list_teams")
    teams = ok(result)["teams"]
    assert [t["key"] for t in teams] == ["ENG", "DES"]
    assert "- ENG Engineering" in text_of(result)
    assert ok(result)["nextCursor"] is None


async def test_list_users(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    active = ok(await call(gateways.default, era, "linear_list_users"))["users"]
    everyone = ok(await call(gateways.default, era, "linear_list_users", {"include_disabled": True}))["users"]
    found = await call(gateways.default, era, "linear_list_users", {"query": "BOB"})
    assert sorted(u["name"] for u in active) == ["Alice Anders", "Bob Brown"]
    assert len(everyone) == 3
    assert [u["email"] for u in ok(found)["users"]] == ["bob@acme.test"]
    assert [u["isMe"] for u in active if u["name"] == "Alice Anders"] == [True]


async def test_list_issues_with_filters(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    arguments = {"team": "eng", "assignee": "me", "state": "triage", "labels": ["Bug"], "limit": 100}
    issues = ok(await call(gateways.default, era, "linear_list_issues", arguments))["issues"]
    expected = {
        i["identifier"]
        for i in fake_linear.store.issues
        if i["team"]["key"] == "ENG"
        and i["assignee"] is not None
        and i["assignee"]["email"] == "alice@acme.test"
        and i["state"]["type"] == "triage"
        and "Bug" in [label["name"] for label in i["labels"]]
        and i["archivedAt"] is None
    }
    assert expected and {i["identifier"] for i in issues} == expected
    assert all(i["labels"][0]["name"] == "Bug" for i in issues)  # connections come back as plain lists

    by_priority = ok(
        await call(
            gateways.default, era, "linear_list_issues", {"priority": 1, "project": "api", "limit": 100}
        )
    )
    assert by_priority["issues"] and all(
        i["priority"] == 1 and i["project"]["name"] == "API v2" for i in by_priority["issues"]
    )
    unassigned = ok(
        await call(gateways.default, era, "linear_list_issues", {"assignee": "none", "cycle": "next"})
    )
    assert unassigned["issues"] and all(
        i["assignee"] is None and i["cycle"]["number"] == 3 for i in unassigned["issues"]
    )
    started = ok(await call(gateways.default, era, "linear_list_issues", {"team": "DES", "state": "backlog"}))
    assert [i["identifier"] for i in started["issues"]] == ["DES-3", "DES-2", "DES-1"]


async def test_list_issues_paginates_with_a_cursor(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    async with mcp.Client(gateways.default, mode=era) as client:
        while True:
            arguments = {
                "team": "ENG",
                "limit": 50,
                "order_by": "createdAt",
                **({"cursor": cursor} if cursor else {}),
            }
            result = await client.call_tool("linear_list_issues", arguments)
            page = ok(result)
            seen += [issue["identifier"] for issue in page["issues"]]
            pages += 1
            cursor = page["nextCursor"]
            if cursor is None:
                break
            assert f'cursor="{cursor}"' in text_of(result)
        archived = ok(
            await client.call_tool(
                "linear_list_issues",
                {"team": "ENG", "limit": 1, "include_archived": True, "order_by": "createdAt"},
            )
        )
        by_update = ok(
            await client.call_tool("linear_list_issues", {"team": "ENG", "limit": 3, "order_by": "updatedAt"})
        )
    assert pages == 3 and len(seen) == len(set(seen)) == ENG_ISSUES
    assert seen[0] == f"ENG-{ENG_ISSUES}" and seen[-1] == "ENG-1"  # newest first
    assert archived["issues"][0]["identifier"] == f"ENG-{ENG_ISSUES + 1}"
    newest = sorted(
        (i for i in fake_linear.store.issues if i["team"]["key"] == "ENG" and not i["archivedAt"]),
        key=lambda i: i["updatedAt"],
        reverse=True,
    )
    assert [i["identifier"] for i in by_update["issues"]] == [i["identifier"] for i in newest[:3]]


async def test_search_issues(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    everywhere = ok(await call(gateways.default, era, "linear_search_issues", {"query": "safari"}))
    in_eng = ok(await call(gateways.default, era, "linear_search_issues", {"query": "safari", "team": "ENG"}))
    comments = await call(
        gateways.default, era, "linear_search_issues", {"query": "cookie", "include_comments": True}
    )
    nothing = await call(gateways.default, era, "linear_search_issues", {"query": "cookie"})
    assert sorted(i["identifier"] for i in everywhere["issues"]) == ["DES-1", "ENG-1"]
    assert [i["identifier"] for i in in_eng["issues"]] == ["ENG-1"]
    assert [i["identifier"] for i in ok(comments)["issues"]] == ["ENG-1"]
    assert "1 issue (of 1 matching)" in text_of(comments)
    assert text_of(nothing) == "No issues found."


async def test_get_issue_by_identifier_and_by_id(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    by_key = await call(gateways.default, era, "linear_get_issue", {"issue": "ENG-1"})
    by_id = ok(await call(gateways.default, era, "linear_get_issue", {"issue": ident("issue/ENG-1")}))
    issue = ok(by_key)["issue"]
    assert issue == by_id["issue"]
    assert issue["title"] == "Login fails with SSO on Safari" and issue["creator"]["name"] == "Alice Anders"
    assert "Users on Safari cannot sign in" in text_of(by_key)


async def test_unknown_issue_is_not_found(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("linear_get_issue", {"issue": "ENG-9999"}),
        ("linear_list_comments", {"issue": "ENG-9999"}),
        ("linear_add_comment", {"issue": "ENG-9999", "body": "hello"}),
        ("linear_update_issue", {"issue": "ENG-9999", "priority": 1}),
    ]
    for tool, arguments in attempts:
        message = error(await call(gateways.default, era, tool, arguments))
        assert (
            message == "Linear issue 'ENG-9999' was not found (or this organization's key cannot see it)"
        ), tool


async def test_create_issue_resolves_names(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    arguments = {
        "title": "Checkout button unresponsive",
        "description": "Clicking **Pay** does nothing.",
        "assignee": "me",
        "state": "In Progress",
        "priority": 2,
        "labels": ["bug", "Backend"],
        "project": "API v2",
        "parent": "ENG-1",
        "due_date": "2025-04-01",
        "estimate": 3,
        "cycle": "active",
    }
    result = await call(gateways.default, era, "linear_create_issue", arguments)  # team: default_team ENG
    created = ok(result)["issue"]
    assert created["identifier"] == f"ENG-{ENG_ISSUES + 2}"
    assert text_of(result).startswith(f"Created ENG-{ENG_ISSUES + 2}:")
    stored = fake_linear.store.find_issue(created["id"])
    assert stored is not None
    assert (
        stored["assignee"]["email"] == "alice@acme.test" and stored["creator"]["email"] == "alice@acme.test"
    )
    assert stored["state"]["name"] == "In Progress" and stored["priority"] == 2
    assert sorted(label["name"] for label in stored["labels"]) == ["Backend", "Bug"]
    assert stored["project"]["name"] == "API v2" and stored["parent"]["identifier"] == "ENG-1"
    assert stored["dueDate"] == "2025-04-01" and stored["estimate"] == 3 and stored["cycle"]["number"] == 2
    in_design = ok(
        await call(gateways.default, era, "linear_create_issue", {"title": "New icon set", "team": "Design"})
    )
    assert in_design["issue"]["identifier"] == "DES-4" and in_design["issue"]["state"]["name"] == "Todo"


async def test_create_issue_reports_what_linear_and_lookups_refuse(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    blank = error(await call(gateways.default, era, "linear_create_issue", {"title": "   "}))
    label = error(await call(gateways.default, era, "linear_create_issue", {"title": "x", "labels": ["UX"]}))
    team = error(await call(gateways.default, era, "linear_create_issue", {"title": "x", "team": "OPS"}))
    state = error(await call(gateways.default, era, "linear_create_issue", {"title": "x", "state": "Review"}))
    assert blank == "Linear rejected the input: Title can't be empty."
    assert label == "no label 'UX' in team ENG or the workspace; see linear_list_labels"  # UX belongs to DES
    assert team == "no Linear team matches 'OPS'; teams: ENG (Engineering), DES (Design)"
    assert state.startswith("team ENG has no workflow state 'Review'; its states: Triage, Backlog, Todo")
    assert len(fake_linear.store.issues) == ENG_ISSUES + 4  # nothing was created


async def test_update_issue(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    before = fake_linear.store.find_issue("ENG-10")
    assert before is not None and before["dueDate"] is not None
    arguments = {
        "issue": "ENG-10",
        "state": "done",
        "assignee": "bob@acme.test",
        "add_labels": ["Feature"],
        "remove_labels": ["Backend"],
        "clear": ["due_date", "project"],
        "title": "Engineering task 10 (renamed)",
    }
    result = await call(gateways.default, era, "linear_update_issue", arguments)
    updated = ok(result)
    assert updated["changed"] == [
        "addedLabelIds", "assigneeId", "dueDate", "projectId", "removedLabelIds", "stateId", "title",
    ]  # fmt: skip
    stored = fake_linear.store.find_issue("ENG-10")
    assert stored is not None
    assert stored["state"]["name"] == "Done" and stored["assignee"]["name"] == "Bob Brown"
    assert [label["name"] for label in stored["labels"]] == ["Feature"]  # was ["Backend"]
    assert stored["dueDate"] is None and stored["project"] is None and stored["title"].endswith("(renamed)")
    assert updated["issue"]["state"]["name"] == "Done"
    replaced = ok(
        await call(
            gateways.default,
            era,
            "linear_update_issue",
            {"issue": "ENG-10", "labels": [], "assignee": "none"},
        )
    )
    assert replaced["issue"]["labels"] == [] and replaced["issue"]["assignee"] is None
    nothing = error(await call(gateways.default, era, "linear_update_issue", {"issue": "ENG-10"}))
    assert nothing == "nothing to change: give at least one field to update (or `clear`)"


async def test_comments_list_and_add(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    listed = await call(gateways.default, era, "linear_list_comments", {"issue": "ENG-1", "limit": 2})
    page = ok(listed)
    assert len(page["comments"]) == 2 and page["nextCursor"] and page["issue"] == "ENG-1"
    rest = ok(
        await call(
            gateways.default, era, "linear_list_comments", {"issue": "ENG-1", "cursor": page["nextCursor"]}
        )
    )
    assert len(rest["comments"]) == 1 and rest["nextCursor"] is None
    added = await call(
        gateways.default, era, "linear_add_comment", {"issue": "ENG-2", "body": "Shipping next week."}
    )
    assert ok(added)["comment"]["issue"]["identifier"] == "ENG-2"
    assert text_of(added).startswith("Commented on ENG-2:")
    stored = fake_linear.store.find_issue("ENG-2")
    assert stored is not None and [(c["user"]["name"], c["body"]) for c in stored["comments"]] == [
        ("Alice Anders", "Shipping next week.")
    ]


async def test_list_workflow_states(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    states = ok(await call(gateways.default, era, "linear_list_workflow_states", {"team": "ENG"}))["states"]
    every = ok(await call(gateways.default, era, "linear_list_workflow_states"))["states"]
    assert [s["type"] for s in states] == [
        "triage",
        "backlog",
        "unstarted",
        "started",
        "completed",
        "canceled",
    ]
    assert {s["team"]["key"] for s in states} == {"ENG"} and len(every) == 12


async def test_list_labels(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    for_eng = ok(await call(gateways.default, era, "linear_list_labels", {"team": "ENG"}))["labels"]
    every = ok(await call(gateways.default, era, "linear_list_labels"))["labels"]
    assert sorted(label["name"] for label in for_eng) == ["Backend", "Bug", "Feature"]
    assert len(every) == 4


async def test_list_projects(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    design = await call(gateways.default, era, "linear_list_projects", {"team": "DES"})
    named = ok(await call(gateways.default, era, "linear_list_projects", {"query": "api"}))
    assert [p["name"] for p in ok(design)["projects"]] == ["Mobile App"]
    assert [t["key"] for t in ok(design)["projects"][0]["teams"]] == ["ENG", "DES"]
    assert "Mobile App | Planned | 10% done | lead: Bob Brown" in text_of(design)
    assert [p["name"] for p in named["projects"]] == ["API v2"]


async def test_list_cycles(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    active = await call(gateways.default, era, "linear_list_cycles", {"team": "ENG", "which": "active"})
    upcoming = ok(
        await call(gateways.default, era, "linear_list_cycles", {"team": "ENG", "which": "upcoming"})
    )
    every = ok(await call(gateways.default, era, "linear_list_cycles"))
    assert [c["number"] for c in ok(active)["cycles"]] == [2]
    assert "ENG cycle 2: 2024-12-30 to 2025-01-13 (active, 50% done" in text_of(active)
    assert [c["number"] for c in upcoming["cycles"]] == [3]
    assert len(every["cycles"]) == 4


# failures


async def test_rate_limited_then_succeeds(gateways: Gateways, fake_linear: FakeLinear, era: str) -> None:
    fake_linear.rate_limit_next(2, retry_after="5")
    started = time.monotonic()
    teams = ok(await call(gateways.default, era, "linear_list_teams"))["teams"]
    assert len(teams) == 2
    assert [r.status for r in fake_linear.received] == [429, 429, 200]
    assert time.monotonic() - started < 5  # two retry-after waits of 5 s, each capped to 50 ms


async def test_rate_limit_exhausted_is_a_clear_error(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    fake_linear.rate_limit_next(10, retry_after="1")
    message = error(await call(gateways.default, era, "linear_list_issues", {"team": "ENG"}))
    assert message.startswith(
        "Linear is rate limiting this organization's requests (RATELIMITED), still after 2 retries"
    )
    assert "0 of 1500 requests left" in message and message.endswith("Try again later.")
    assert [r.status for r in fake_linear.received] == [429, 429, 429]


async def test_linear_outage_is_retried_then_reported(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    fake_linear.fail_next(3, status=503)
    message = error(await call(gateways.default, era, "linear_list_teams"))
    assert message.startswith("Linear is unavailable: Linear answered HTTP 503, after 2 retries")


async def test_bad_key_is_a_clear_error_naming_the_fix(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    fake_linear.revoked.add(ALICE_KEY)
    message = error(await call(gateways.default, era, "linear_list_teams"))
    assert message.startswith(
        "Linear rejected the credential: You need to authenticate to access this operation."
    )
    assert "omni-mcp service set default linear api_key=" in message
    assert ALICE_KEY not in message and "lin_api_alice" not in message
    assert len(fake_linear.received) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "complaint"),
    [
        (
            "linear_list_issues",
            {"priority": 9},
            "argument 'priority': Input should be less than or equal to 4",
        ),
        ("linear_list_issues", {"limit": 0}, "argument 'limit'"),
        ("linear_list_issues", {"order_by": "priority"}, "argument 'order_by'"),
        ("linear_create_issue", {"team": "ENG"}, "missing required argument 'title'"),
        ("linear_create_issue", {"title": "x", "due_date": "next week"}, "argument 'due_date'"),
        ("linear_get_issue", {"id": "ENG-1"}, "unknown argument 'id'"),
        ("linear_update_issue", {"issue": "ENG-1", "clear": ["title"]}, "argument 'clear.0'"),
        ("linear_list_cycles", {"which": "someday"}, "argument 'which'"),
    ],
)
async def test_invalid_arguments_are_schema_errors(
    gateways: Gateways,
    fake_linear: FakeLinear,
    era: str,
    tool: str,
    arguments: dict[str, Any],
    complaint: str,
) -> None:
    message = error(await call(gateways.default, era, tool, arguments))
    assert message.startswith(f"Invalid arguments for tool '{tool}': ")
    assert complaint in message
    assert fake_linear.received == []  # refused before reaching Linear


# organizations


async def test_each_organization_reaches_linear_with_its_own_key_only(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    alice = ok(await call(gateways.default, era, "linear_get_viewer"))["viewer"]
    alice_mine = ok(await call(gateways.default, era, "linear_list_issues", {"assignee": "me", "limit": 100}))
    seen_for_default = fake_linear.authorizations()
    fake_linear.received.clear()
    bob = ok(await call(gateways.acme, era, "linear_get_viewer"))["viewer"]
    bob_mine = ok(await call(gateways.acme, era, "linear_list_issues", {"assignee": "me", "limit": 100}))
    seen_for_acme = fake_linear.authorizations()
    assert seen_for_default == {ALICE_KEY} and seen_for_acme == {BOB_KEY}
    assert (alice["name"], bob["name"]) == ("Alice Anders", "Bob Brown")
    assert {i["assignee"]["name"] for i in alice_mine["issues"]} == {"Alice Anders"}
    assert {i["assignee"]["name"] for i in bob_mine["issues"]} == {"Bob Brown"}
    no_team = error(
        await call(gateways.acme, era, "linear_create_issue", {"title": "x"})
    )  # acme set no default
    assert no_team.startswith("no team given and this organization has no default_team")
    assert "omni-mcp service set acme linear default_team=ENG" in no_team


async def test_keys_never_reach_logs_or_cli_output(gateways: Gateways, fake_linear: FakeLinear) -> None:
    await call(gateways.default, "legacy", "linear_list_teams")
    fake_linear.revoked.add(ALICE_KEY)
    await call(gateways.default, "legacy", "linear_list_teams")
    logs = "".join(log.read_text() for log in gateways.logs)
    assert "linear_list_teams" in logs  # the logs are there, at DEBUG
    for secret in (ALICE_KEY, BOB_KEY, "lin_api_alice", "lin_api_bob"):
        assert secret not in logs and secret not in gateways.cli_output


# resources and prompts


def key_limited_to(env: dict[str, str], tool: str) -> str:
    """A member key of `default` made with `apikey create --tools TOOL` (and nothing else)."""
    command = ["apikey", "create", "default", "--role", "member", "--tools", tool, "--json"]
    made = subprocess.run(
        [sys.executable, "-m", "omni_mcp", *command],
        env={**env, "OMNI_MCP_LOGGING__LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return str(json.loads(made.stdout)["key"])


async def test_a_key_limited_to_a_tool_reads_no_linear_resource(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"x-api-key": key_limited_to(gateways.env, "linear_get_viewer")})
    transport = streamable_http_client(gateways.default, http_client=http)
    async with http, mcp.Client(transport, mode=era) as client:
        listed = (await client.list_resources()).resources
        prompts = (await client.list_prompts()).prompts
        with pytest.raises(MCPError) as teams:
            await client.read_resource("linear://teams")
        with pytest.raises(MCPError) as triage:
            await client.get_prompt("linear_issue_triage", {})
        viewer = await client.call_tool("linear_get_viewer", {})
    assert listed == [] and prompts == []
    assert teams.value.message == (
        "Permission denied: this API key may not read resource 'linear://teams' (not in its allow-list)"
    )
    assert "not in its allow-list" in triage.value.message
    assert ok(viewer)["viewer"]["email"] == "alice@acme.test"
    # Only the allowed tool reached Linear with the organization's key; the resource read never did.
    assert fake_linear.operations() == ["Viewer"]


async def test_resources_team_data_and_issue_templates(
    gateways: Gateways, fake_linear: FakeLinear, era: str
) -> None:
    async with mcp.Client(gateways.default, mode=era) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        teams = await client.read_resource("linear://teams")
        team = await client.read_resource("linear://teams/ENG")
        bug = await client.read_resource("linear://templates/bug-report")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("linear://teams/OPS")
    assert {
        "linear://teams",
        "linear://templates/bug-report",
        "linear://templates/feature-request",
        "linear://templates/tech-debt",
    } <= listed
    assert "linear://teams/{id}" in templates
    # A team that does not exist is "not found", as any unknown URI is, with the plugin's hint.
    assert missing.value.code == types.INVALID_PARAMS
    assert missing.value.message == (
        "Resource not found: linear://teams/OPS "
        "(no single Linear team matches 'OPS'; read linear://teams for the list)"
    )
    assert [t["key"] for t in json.loads(teams.contents[0].text)["teams"]] == ["ENG", "DES"]  # type: ignore[union-attr]
    detail = json.loads(team.contents[0].text)["team"]  # type: ignore[union-attr]
    assert detail["key"] == "ENG" and detail["activeCycle"]["number"] == 2
    assert [s["name"] for s in detail["states"]][:3] == ["Triage", "Backlog", "Todo"]
    assert [label["name"] for label in detail["labels"]] == [
        "Backend"
    ]  # team labels; workspace ones are shared
    assert bug.contents[0].text.startswith("# Bug report")  # type: ignore[union-attr]


async def test_prompts_render_with_arguments(gateways: Gateways, era: str) -> None:
    async with mcp.Client(gateways.default, mode=era) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        triage = await client.get_prompt("linear_issue_triage", {"team": "ENG", "limit": "10"})
        planning = await client.get_prompt("linear_sprint_planning", {"team": "ENG", "capacity": "20"})
        workflow = await client.get_prompt("linear_workflow", {"issue": "ENG-7"})
        with pytest.raises(MCPError, match="missing required argument 'team'"):
            await client.get_prompt("linear_issue_triage", {})
    assert {"linear_issue_triage", "linear_sprint_planning", "linear_workflow"} <= set(prompts)
    assert [a.name for a in prompts["linear_sprint_planning"].arguments or []] == [
        "team",
        "capacity",
        "cycle",
    ]
    texts = [r.messages[0].content.text for r in (triage, planning, workflow)]  # type: ignore[union-attr]
    assert 'team="ENG" and state="triage"' in texts[0] and "at most 10 issues" in texts[0]
    assert "Capacity: 20 estimate points" in texts[1]
    assert texts[2].startswith("Work Linear issue ENG-7 through its team's workflow.")
