"""A fake Linear API on 127.0.0.1 that speaks Linear's GraphQL wire format.

Every request is parsed, validated and executed with graphql-core against Linear's real public schema
(`../shared/data/linear/schema.graphql` from the project root), so a query or variable the real API
would reject is rejected here too, and recorded in `FakeLinear.rejected` for the tests to fail on.
Responses take exactly the shape the query selected, because the schema itself executes them.

Switches: revoke a key (AUTHENTICATION_ERROR), answer 429 with `retry-after` and `x-ratelimit-*`
headers for the next N requests, fail the next N with a 5xx; every request's Authorization header and
operation are recorded.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    default_field_resolver,
    execute,
    parse,
    validate,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = Path(
    os.environ.get(
        "OMNI_MCP_LINEAR_SCHEMA", PROJECT_ROOT.parent / "shared" / "data" / "linear" / "schema.graphql"
    )
)
SCHEMA_MISSING_REASON = (
    f"Linear's public schema is not at {SCHEMA_PATH} (it lives beside the project in ../shared/data/linear; "
    "CI always has it; set OMNI_MCP_LINEAR_SCHEMA to use another copy)"
)

ALICE_KEY = "lin_api_alice_0000000000000000000000000000000"
BOB_KEY = "lin_api_bob_00000000000000000000000000000000"
ALICE_OAUTH = "lin_oauth_alice_000000000000000000000000000"
REQUESTS_LIMIT = 1500
COMPLEXITY_LIMIT = 250_000
BASE_TIME = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ENG_ISSUES = 120


@functools.cache
def load_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


def ident(name: str) -> str:
    """A stable UUID per seeded entity, so tests and runs agree on ids."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://fake.linear.test/{name}"))


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    authorization: str | None
    operation: str | None
    query: str
    variables: dict[str, Any]
    status: int


@dataclass
class _Request:
    """What resolvers know about the request they serve."""

    store: Store
    viewer: dict[str, Any]


def _input_error(message: str, user_message: str) -> GraphQLError:
    return GraphQLError(
        message,
        extensions={
            "type": "invalid input",
            "code": "INPUT_ERROR",
            "statusCode": 400,
            "userError": True,
            "userPresentableMessage": user_message,
        },
    )


def _not_found(entity: str) -> GraphQLError:
    return _input_error(f"Entity not found: {entity}", f"Could not find referenced {entity}.")


class Store:
    """A small Linear workspace: users, two teams, states, labels, projects, cycles, 120+ issues."""

    def __init__(self) -> None:
        self.sync_id = 1000
        self.organization = {"id": ident("org"), "name": "Acme Corp", "urlKey": "acme"}
        self.users = [
            self._user("alice", "Alice Anders", "alice", admin=True),
            self._user("bob", "Bob Brown", "bob"),
            self._user("carol", "Carol Chen", "carol", active=False),
        ]
        self.teams = [
            self._team("ENG", "Engineering", "Builds the product"),
            self._team("DES", "Design", None),
        ]
        self.states: list[dict[str, Any]] = []
        for team in self.teams:
            for position, (name, kind, color) in enumerate(
                [
                    ("Triage", "triage", "#FC7840"),
                    ("Backlog", "backlog", "#bec2c8"),
                    ("Todo", "unstarted", "#e2e2e2"),
                    ("In Progress", "started", "#f2c94c"),
                    ("Done", "completed", "#5e6ad2"),
                    ("Canceled", "canceled", "#95a2b3"),
                ]
            ):
                self.states.append(
                    {
                        "id": ident(f"state/{team['key']}/{name}"),
                        "name": name,
                        "type": kind,
                        "color": color,
                        "position": float(position),
                        "description": None,
                        "team": team,
                        "archivedAt": None,
                    }
                )
        eng, des = self.teams
        self.labels = [
            self._label("Bug", None, "#eb5757"),
            self._label("Feature", None, "#bb87fc"),
            self._label("Backend", eng, "#4ea7fc"),
            self._label("UX", des, "#f2994a"),
        ]
        self.projects = [
            self._project("API v2", [eng], 0.4, "In Progress", "started", self.users[0]),
            self._project("Mobile App", [eng, des], 0.1, "Planned", "planned", self.users[1]),
        ]
        self.cycles = [
            self._cycle(eng, 1, -21, "past"),
            self._cycle(eng, 2, -7, "active"),
            self._cycle(eng, 3, 7, "next"),
            self._cycle(des, 1, -7, "active"),
        ]
        self.issues: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self._seed_issues()

    # seeding

    def _user(
        self, handle: str, name: str, display: str, admin: bool = False, active: bool = True
    ) -> dict[str, Any]:
        return {
            "id": ident(f"user/{handle}"),
            "name": name,
            "displayName": display,
            "email": f"{handle}@acme.test",
            "active": active,
            "admin": admin,
            "guest": False,
            "archivedAt": None,
            "organization": None,
        }

    def _team(self, key: str, name: str, description: str | None) -> dict[str, Any]:
        return {
            "id": ident(f"team/{key}"),
            "key": key,
            "name": name,
            "description": description,
            "timezone": "Europe/Lisbon",
            "cyclesEnabled": True,
            "triageEnabled": True,
            "issueEstimationType": "fibonacci",
            "archivedAt": None,
            "counter": 0,
        }

    def _label(self, name: str, team: dict[str, Any] | None, color: str) -> dict[str, Any]:
        scope = team["key"] if team else "workspace"
        return {
            "id": ident(f"label/{scope}/{name}"),
            "name": name,
            "color": color,
            "description": None,
            "isGroup": False,
            "parent": None,
            "team": team,
            "archivedAt": None,
        }

    def _project(
        self,
        name: str,
        teams: list[dict[str, Any]],
        progress: float,
        status: str,
        kind: str,
        lead: dict[str, Any],
    ) -> dict[str, Any]:
        slug = name.lower().replace(" ", "-")
        return {
            "id": ident(f"project/{name}"),
            "name": name,
            "description": f"{name} project",
            "url": f"https://linear.app/acme/project/{slug}",
            "progress": progress,
            "startDate": "2025-01-01",
            "targetDate": "2025-06-30",
            "archivedAt": None,
            "status": {"id": ident(f"project-status/{kind}"), "name": status, "type": kind},
            "lead": lead,
            "teams": teams,
        }

    def _cycle(self, team: dict[str, Any], number: int, start_days: int, when: str) -> dict[str, Any]:
        starts = BASE_TIME + timedelta(days=start_days)
        return {
            "id": ident(f"cycle/{team['key']}/{number}"),
            "number": float(number),
            "name": None,
            "startsAt": stamp(starts),
            "endsAt": stamp(starts + timedelta(days=14)),
            "progress": {"past": 1.0, "active": 0.5, "next": 0.0}[when],
            "isActive": when == "active",
            "isNext": when == "next",
            "isPrevious": when == "past",
            "isPast": when == "past",
            "isFuture": when == "next",
            "team": team,
        }

    def _seed_issues(self) -> None:
        eng, des = self.teams
        alice, bob, _carol = self.users
        bug, feature, backend, _ux = self.labels
        api = self.projects[0]
        eng_states = [s for s in self.states if s["team"] is eng]
        eng_cycles = {int(c["number"]): c for c in self.cycles if c["team"] is eng}
        special = {
            1: (
                "Login fails with SSO on Safari",
                "Users on Safari cannot sign in with SSO since release 2.3.",
            ),
            2: ("Add dark mode to settings", "Customers keep asking for a dark theme."),
        }
        for n in range(1, ENG_ISSUES + 2):
            title, description = special.get(
                n, (f"Engineering task {n}", f"Routine engineering work item {n}.")
            )
            labels = [
                label for label, on in ((bug, n % 4 == 0), (feature, n % 4 == 1), (backend, n % 5 == 0)) if on
            ]
            cycle = eng_cycles[2] if n % 3 == 0 else eng_cycles[3] if n % 7 == 0 else None
            issue = self._issue(
                eng,
                title=title,
                description=description,
                state=eng_states[n % 6],
                priority=n % 5,
                assignee={0: alice, 1: bob}.get(n % 3),
                labels=labels,
                project=api if n % 2 == 0 else None,
                cycle=cycle,
                estimate=float(n % 8) if n % 8 else None,
                due=f"2025-03-{n % 28 + 1:02d}" if n % 10 == 0 else None,
                created=BASE_TIME + timedelta(hours=n),
                updated=BASE_TIME + timedelta(hours=n, minutes=(n * 7919) % 5000),
                creator=alice,
            )
            if n == ENG_ISSUES + 1:
                issue["title"] = "Archived engineering task"
                issue["archivedAt"] = stamp(BASE_TIME + timedelta(days=30))
        des_states = [s for s in self.states if s["team"] is des]
        for n in range(1, 4):
            self._issue(
                des,
                title=f"Design review {n}",
                description="Review mockups for the Safari login page." if n == 1 else None,
                state=des_states[1],
                priority=3,
                assignee=bob,
                labels=[self.labels[3]],
                project=self.projects[1],
                cycle=None,
                estimate=None,
                due=None,
                created=BASE_TIME + timedelta(hours=200 + n),
                updated=BASE_TIME + timedelta(hours=200 + n),
                creator=bob,
            )
        first = self.find_issue("ENG-1")
        assert first is not None
        for author, body in (
            (alice, "I can reproduce on Safari 17."),
            (bob, "Looks like a cookie issue."),
            (alice, "Fix in review."),
        ):
            self.add_comment(first, author, body)

    def _issue(self, team: dict[str, Any], **values: Any) -> dict[str, Any]:
        team["counter"] += 1
        identifier = f"{team['key']}-{team['counter']}"
        issue = {
            "id": ident(f"issue/{identifier}"),
            "identifier": identifier,
            "number": float(team["counter"]),
            "title": values["title"],
            "description": values["description"],
            "priority": float(values["priority"]),
            "estimate": values["estimate"],
            "dueDate": values["due"],
            "url": f"https://linear.app/acme/issue/{identifier}",
            "createdAt": stamp(values["created"]),
            "updatedAt": stamp(values["updated"]),
            "archivedAt": None,
            "team": team,
            "state": values["state"],
            "assignee": values["assignee"],
            "creator": values["creator"],
            "labels": list(values["labels"]),
            "project": values["project"],
            "cycle": values["cycle"],
            "parent": None,
            "comments": [],
        }
        self.issues.append(issue)
        return issue

    # lookups and changes

    def find_issue(self, key: str) -> dict[str, Any] | None:
        return next((i for i in self.issues if key in (i["id"], i["identifier"])), None)

    def add_comment(self, issue: dict[str, Any], author: dict[str, Any], body: str) -> dict[str, Any]:
        moment = BASE_TIME + timedelta(days=40, minutes=len(self.comments))
        comment = {
            "id": ident(f"comment/{len(self.comments)}"),
            "body": body,
            "createdAt": stamp(moment),
            "updatedAt": stamp(moment),
            "url": f"{issue['url']}#comment-{len(self.comments)}",
            "user": author,
            "issue": issue,
        }
        self.comments.append(comment)
        issue["comments"].append(comment)
        return comment

    def next_sync_id(self) -> float:
        self.sync_id += 1
        return float(self.sync_id)


# filters: Linear's comparators and entity filters, evaluated over the store's dicts


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda value, expected: value == expected,
    "neq": lambda value, expected: value != expected,
    "in": lambda value, expected: value in expected,
    "nin": lambda value, expected: value not in expected,
    "eqIgnoreCase": lambda value, expected: _fold(value) == _fold(expected),
    "neqIgnoreCase": lambda value, expected: _fold(value) != _fold(expected),
    "contains": lambda value, expected: expected in value,
    "notContains": lambda value, expected: expected not in value,
    "containsIgnoreCase": lambda value, expected: _fold(expected) in _fold(value),
    "containsIgnoreCaseAndAccent": lambda value, expected: _fold(expected) in _fold(value),
    "notContainsIgnoreCase": lambda value, expected: _fold(expected) not in _fold(value),
    "startsWith": lambda value, expected: value.startswith(expected),
    "startsWithIgnoreCase": lambda value, expected: _fold(value).startswith(_fold(expected)),
    "notStartsWith": lambda value, expected: not value.startswith(expected),
    "endsWith": lambda value, expected: value.endswith(expected),
    "notEndsWith": lambda value, expected: not value.endswith(expected),
    "gt": lambda value, expected: value > expected,
    "gte": lambda value, expected: value >= expected,
    "lt": lambda value, expected: value < expected,
    "lte": lambda value, expected: value <= expected,
}
_NEGATIVE = {"neq", "nin", "neqIgnoreCase", "notContains", "notContainsIgnoreCase"}
_ALIASES = {"accessibleTeams": "teams"}


def _field(entity: dict[str, Any], key: str, request: _Request) -> Any:
    if key == "isMe":
        return entity["id"] == request.viewer["id"]
    return entity.get(_ALIASES.get(key, key))


def matches(entity: dict[str, Any], condition: dict[str, Any], request: _Request) -> bool:
    for key, sub in condition.items():
        if key == "and":
            ok = all(matches(entity, part, request) for part in sub)
        elif key == "or":
            ok = any(matches(entity, part, request) for part in sub)
        else:
            ok = _matches_value(_field(entity, key, request), sub, request)
        if not ok:
            return False
    return True


def _matches_value(value: Any, condition: dict[str, Any] | None, request: _Request) -> bool:
    if condition is None:
        return True
    if isinstance(value, list):
        return _matches_collection(value, condition, request)
    if set(condition) <= {*_COMPARATORS, "null"} and not isinstance(value, dict):
        return _compare(value, condition)
    if value is None:
        return condition.get("null") is True
    rest = {k: v for k, v in condition.items() if k != "null"}
    if condition.get("null") is True:
        return False
    return matches(value, rest, request)


def _matches_collection(values: list[Any], condition: dict[str, Any], request: _Request) -> bool:
    for key, sub in condition.items():
        if key == "some":
            ok = any(matches(v, sub, request) for v in values)
        elif key == "every":
            ok = all(matches(v, sub, request) for v in values)
        elif key == "length":
            ok = _compare(len(values), sub)
        elif key == "null":
            ok = (not values) == sub
        elif key == "and":
            ok = all(_matches_collection(values, part, request) for part in sub)
        elif key == "or":
            ok = any(_matches_collection(values, part, request) for part in sub)
        else:
            ok = any(_matches_value(_field(v, key, request), sub, request) for v in values)
        if not ok:
            return False
    return True


def _compare(value: Any, condition: dict[str, Any]) -> bool:
    """Linear's scalar comparators; a missing value only satisfies `null: true` and negations."""
    for op, expected in condition.items():
        if op == "null":
            ok = (value is None) == expected
        elif value is None:
            ok = op in _NEGATIVE
        else:
            ok = _COMPARATORS[op](value, expected)
        if not ok:
            return False
    return True


# resolvers


def connection(
    items: list[dict[str, Any]], first: int | None = None, after: str | None = None, **_: Any
) -> dict[str, Any]:
    """A Linear connection page; cursors are the ids of the nodes, like Linear's."""
    if first is not None and not 0 <= first <= 250:
        raise _input_error("Argument Validation Error", "first must be between 0 and 250.")
    start = 0
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise _input_error("Argument Validation Error", "The cursor is invalid.")
        start = ids.index(after) + 1
    size = 50 if first is None else first
    page = items[start : start + size]
    return {
        "nodes": page,
        "edges": [{"node": node, "cursor": node["id"]} for node in page],
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": page[0]["id"] if page else None,
            "endCursor": page[-1]["id"] if page else None,
        },
    }


def _listing(
    items: list[dict[str, Any]],
    info: GraphQLResolveInfo[_Request],
    args: dict[str, Any],
    archived: bool = True,
) -> dict[str, Any]:
    request: _Request = info.context
    chosen = [
        item
        for item in items
        if (args.get("includeArchived") or not archived or item.get("archivedAt") is None)
        and matches(item, args.get("filter") or {}, request)
    ]
    order = args.get("orderBy") or "createdAt"
    if chosen and order in chosen[0]:
        chosen.sort(key=lambda item: item[order], reverse=True)
    return connection(chosen, args.get("first"), args.get("after"))


def _query_team(_root: Any, info: GraphQLResolveInfo[_Request], id: str) -> dict[str, Any]:
    team = next((t for t in info.context.store.teams if id in (t["id"], t["key"])), None)
    if team is None:
        raise _not_found("Team")
    return team


def _query_issue(_root: Any, info: GraphQLResolveInfo[_Request], id: str) -> dict[str, Any]:
    issue = info.context.store.find_issue(id)
    if issue is None:
        raise _not_found("Issue")
    return issue


def _query_user(_root: Any, info: GraphQLResolveInfo[_Request], id: str) -> dict[str, Any]:
    user = next((u for u in info.context.store.users if u["id"] == id), None)
    if user is None:
        raise _not_found("User")
    return user


def _query_users(_root: Any, info: GraphQLResolveInfo[_Request], **args: Any) -> dict[str, Any]:
    users = [u for u in info.context.store.users if args.get("includeDisabled") or u["active"]]
    return _listing(users, info, args)


def _search_issues(_root: Any, info: GraphQLResolveInfo[_Request], term: str, **args: Any) -> dict[str, Any]:
    words = term.lower().split()

    def hit(issue: dict[str, Any]) -> bool:
        text = f"{issue['title']} {issue['description'] or ''}"
        if args.get("includeComments"):
            text += " ".join(c["body"] for c in issue["comments"])
        return all(word in text.lower() for word in words)

    found = _listing([i for i in info.context.store.issues if hit(i)], info, args)
    total = len([i for i in info.context.store.issues if hit(i)])
    return {**found, "totalCount": float(total), "archivePayload": None}


def _viewer(_root: Any, info: GraphQLResolveInfo[_Request]) -> dict[str, Any]:
    return {**info.context.viewer, "organization": info.context.store.organization}


_PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def _check_issue_input(store: Store, team: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The input's references as store objects, refused like Linear refuses them."""
    changes: dict[str, Any] = {}
    if "title" in data and (data["title"] is None or not data["title"].strip()):
        raise _input_error("Argument Validation Error", "Title can't be empty.")
    if data.get("priority") is not None and not 0 <= data["priority"] <= 4:
        raise _input_error("Argument Validation Error", "Priority must be between 0 and 4.")
    for key in ("title", "description", "dueDate"):
        if key in data:
            changes[key] = data[key]
    if "priority" in data:
        changes["priority"] = float(data["priority"] or 0)
    if "estimate" in data:
        changes["estimate"] = None if data["estimate"] is None else float(data["estimate"])
    if data.get("stateId") is not None:
        state = next((s for s in store.states if s["id"] == data["stateId"]), None)
        if state is None:
            raise _not_found("WorkflowState")
        if state["team"] is not team:
            raise _input_error(
                "Argument Validation Error", "The workflow state does not belong to the issue's team."
            )
        changes["state"] = state
    references = {
        "assigneeId": ("assignee", store.users, "User"),
        "projectId": ("project", store.projects, "Project"),
        "cycleId": ("cycle", store.cycles, "Cycle"),
        "parentId": ("parent", store.issues, "Issue"),
    }
    for key, (target, pool, entity) in references.items():
        if key in data:
            if data[key] is None:
                changes[target] = None
                continue
            found = next((item for item in pool if item["id"] == data[key]), None)
            if found is None:
                raise _not_found(entity)
            changes[target] = found
    for key in ("labelIds", "addedLabelIds", "removedLabelIds"):
        for label_id in data.get(key) or []:
            if not any(label["id"] == label_id for label in store.labels):
                raise _not_found("IssueLabel")
    return changes


def _labels(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    return [label for label in store.labels if label["id"] in ids]


def _issue_create(_root: Any, info: GraphQLResolveInfo[_Request], input: dict[str, Any]) -> dict[str, Any]:
    request: _Request = info.context
    store = request.store
    team = next((t for t in store.teams if t["id"] == input["teamId"]), None)
    if team is None:
        raise _not_found("Team")
    if not (input.get("title") or "").strip():
        raise _input_error("Argument Validation Error", "Title can't be empty.")
    changes = _check_issue_input(store, team, input)
    default_state = next(s for s in store.states if s["team"] is team and s["name"] == "Todo")
    now = datetime.now(UTC)
    issue = store._issue(
        team,
        title=changes["title"],
        description=changes.get("description"),
        state=changes.get("state", default_state),
        priority=int(changes.get("priority", 0)),
        assignee=changes.get("assignee"),
        labels=_labels(store, input.get("labelIds") or []),
        project=changes.get("project"),
        cycle=changes.get("cycle"),
        estimate=changes.get("estimate"),
        due=changes.get("dueDate"),
        created=now,
        updated=now,
        creator=request.viewer,
    )
    issue["parent"] = changes.get("parent")
    return {"success": True, "lastSyncId": store.next_sync_id(), "issue": issue}


def _issue_update(
    _root: Any, info: GraphQLResolveInfo[_Request], id: str, input: dict[str, Any]
) -> dict[str, Any]:
    store: Store = info.context.store
    issue = store.find_issue(id)
    if issue is None:
        raise _not_found("Issue")
    changes = _check_issue_input(store, issue["team"], input)
    issue.update(changes)
    if "labelIds" in input:
        issue["labels"] = _labels(store, input["labelIds"] or [])
    for label in _labels(store, input.get("addedLabelIds") or []):
        if label not in issue["labels"]:
            issue["labels"].append(label)
    removed = set(input.get("removedLabelIds") or [])
    issue["labels"] = [label for label in issue["labels"] if label["id"] not in removed]
    issue["updatedAt"] = stamp(datetime.now(UTC))
    return {"success": True, "lastSyncId": store.next_sync_id(), "issue": issue}


def _comment_create(_root: Any, info: GraphQLResolveInfo[_Request], input: dict[str, Any]) -> dict[str, Any]:
    request: _Request = info.context
    issue = request.store.find_issue(input.get("issueId") or "")
    if issue is None:
        raise _not_found("Issue")
    if not (input.get("body") or "").strip():
        raise _input_error("Argument Validation Error", "Comment body can't be empty.")
    comment = request.store.add_comment(issue, request.viewer, input["body"])
    return {"success": True, "lastSyncId": request.store.next_sync_id(), "comment": comment}


def _store_list(name: str, archived: bool = True) -> Callable[..., dict[str, Any]]:
    def resolve(_root: Any, info: GraphQLResolveInfo[_Request], **args: Any) -> dict[str, Any]:
        return _listing(getattr(info.context.store, name), info, args, archived)

    return resolve


def _child_list(key: str) -> Callable[..., dict[str, Any]]:
    def resolve(source: dict[str, Any], info: GraphQLResolveInfo[_Request], **args: Any) -> dict[str, Any]:
        return _listing(source[key], info, args)

    return resolve


def _team_list(
    name: str, pick: Callable[[dict[str, Any], dict[str, Any]], bool]
) -> Callable[..., dict[str, Any]]:
    def resolve(team: dict[str, Any], info: GraphQLResolveInfo[_Request], **args: Any) -> dict[str, Any]:
        items = [item for item in getattr(info.context.store, name) if pick(item, team)]
        return _listing(items, info, args)

    return resolve


_ISSUE_FIELDS: dict[str, Callable[..., Any]] = {
    "labels": _child_list("labels"),
    "comments": _child_list("comments"),
    "children": lambda issue, info, **args: _listing(
        [i for i in info.context.store.issues if i["parent"] is issue], info, args
    ),
    "priorityLabel": lambda issue, info: _PRIORITY_LABELS[int(issue["priority"])],
}

RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Query", "viewer"): _viewer,
    ("Query", "teams"): _store_list("teams"),
    ("Query", "team"): _query_team,
    ("Query", "users"): _query_users,
    ("Query", "user"): _query_user,
    ("Query", "issues"): _store_list("issues"),
    ("Query", "issue"): _query_issue,
    ("Query", "searchIssues"): _search_issues,
    ("Query", "workflowStates"): _store_list("states"),
    ("Query", "issueLabels"): _store_list("labels"),
    ("Query", "projects"): _store_list("projects"),
    ("Query", "cycles"): _store_list("cycles", archived=False),
    ("Query", "comments"): _store_list("comments"),
    ("Mutation", "issueCreate"): _issue_create,
    ("Mutation", "issueUpdate"): _issue_update,
    ("Mutation", "commentCreate"): _comment_create,
    ("Team", "states"): _team_list("states", lambda state, team: state["team"] is team),
    ("Team", "labels"): _team_list("labels", lambda label, team: label["team"] is team),
    ("Team", "members"): _team_list("users", lambda user, team: user["active"]),
    ("Team", "activeCycle"): lambda team, info: next(
        (c for c in info.context.store.cycles if c["team"] is team and c["isActive"]), None
    ),
    ("Project", "teams"): _child_list("teams"),
    ("User", "isMe"): lambda user, info: user["id"] == info.context.viewer["id"],
    **{("Issue", name): fn for name, fn in _ISSUE_FIELDS.items()},
    **{("IssueSearchResult", name): fn for name, fn in _ISSUE_FIELDS.items()},
}


def _resolve(source: Any, info: GraphQLResolveInfo[_Request], **args: Any) -> Any:
    resolver = RESOLVERS.get((info.parent_type.name, info.field_name))
    if resolver is not None:
        return resolver(source, info, **args)
    return default_field_resolver(source, info, **args)


# the HTTP side


@dataclass
class FakeLinear:
    """The fake API's state and switches; `url` is its GraphQL endpoint once served."""

    url: str = ""
    store: Store = field(default_factory=Store)
    api_keys: dict[str, str] = field(
        default_factory=lambda: {ALICE_KEY: ident("user/alice"), BOB_KEY: ident("user/bob")}
    )
    oauth_tokens: dict[str, str] = field(default_factory=lambda: {ALICE_OAUTH: ident("user/alice")})
    revoked: set[str] = field(default_factory=set)
    auth_error_status: int = 400
    echo_credential: bool = False
    """Quote the refused Authorization header in the error, as some upstreams and proxies do."""
    received: list[Received] = field(default_factory=list)
    rejected: list[tuple[str, list[str]]] = field(default_factory=list)
    _rate_limited: list[tuple[int, str | None]] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rate_limit_next(self, count: int, *, retry_after: str | None = "1", status: int = 429) -> None:
        """The next `count` requests are refused as rate limited, like Linear does when a budget is spent."""
        with self._lock:
            self._rate_limited.extend([(status, retry_after)] * count)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def reset(self) -> None:
        """Fresh data, no switches, empty logs: a clean slate for the next test."""
        with self._lock:
            self.store = Store()
            self.received.clear()
            self.rejected.clear()
            self.revoked.clear()
            self._rate_limited.clear()
            self._failures.clear()
            self.auth_error_status = 400
            self.echo_credential = False

    def authorizations(self) -> set[str | None]:
        return {r.authorization for r in self.received}

    def operations(self) -> list[str | None]:
        return [r.operation for r in self.received]

    def handle(self, path: str, authorization: str | None, body: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            status, payload, headers = self._handle(path, authorization, body)
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = {}
            self.received.append(
                Received(
                    authorization=authorization,
                    operation=parsed.get("operationName") if isinstance(parsed, dict) else None,
                    query=str(parsed.get("query", "")) if isinstance(parsed, dict) else "",
                    variables=dict(parsed.get("variables") or {}) if isinstance(parsed, dict) else {},
                    status=status,
                )
            )
            return status, payload, headers

    def _limits(self, remaining: int | None = None) -> dict[str, str]:
        used = len(self.received) + 1
        reset = str(int((time.time() + 60) * 1000))
        left = max(0, REQUESTS_LIMIT - used) if remaining is None else remaining
        return {
            "x-ratelimit-requests-limit": str(REQUESTS_LIMIT),
            "x-ratelimit-requests-remaining": str(left),
            "x-ratelimit-requests-reset": reset,
            "x-ratelimit-complexity-limit": str(COMPLEXITY_LIMIT),
            "x-ratelimit-complexity-remaining": str(COMPLEXITY_LIMIT - 100 * used if left else 0),
            "x-ratelimit-complexity-reset": reset,
        }

    def _handle(self, path: str, authorization: str | None, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if path != "/graphql":
            return 404, {"errors": [{"message": f"Cannot POST {path}"}]}, {}
        if self._failures:
            return self._failures.pop(0), "upstream connect error or disconnect/reset before headers", {}
        if self._rate_limited:
            status, retry_after = self._rate_limited.pop(0)
            headers = self._limits(remaining=0)
            if retry_after is not None:
                headers["retry-after"] = retry_after
            return status, _errors("Rate limit exceeded", "RATELIMITED", "ratelimited", 429), headers
        viewer = self._viewer(authorization)
        if viewer is None:
            quoted = f" (credential {authorization!r} is not valid)" if self.echo_credential else ""
            payload = _errors(
                "Authentication required, not authenticated",
                "AUTHENTICATION_ERROR",
                "authentication error",
                401,
                f"You need to authenticate to access this operation.{quoted}",
            )
            return self.auth_error_status, payload, {}
        try:
            request = json.loads(body)
            query = request["query"]
        except (ValueError, KeyError, TypeError):
            return (
                400,
                _errors("Must provide a JSON body with a query", "BAD_REQUEST", "graphql error", 400),
                {},
            )
        result, rejected = _run(
            query, request.get("variables"), request.get("operationName"), _Request(self.store, viewer)
        )
        if rejected:
            self.rejected.append((query, [e.message for e in result.errors or []]))
        payload = {"data": result.data}
        if result.errors:
            payload["errors"] = [_formatted(e, rejected) for e in result.errors]
        return (200 if result.data is not None else 400), payload, self._limits()

    def _viewer(self, authorization: str | None) -> dict[str, Any] | None:
        """Personal API keys are sent raw, OAuth tokens as Bearer; anything else is refused."""
        if not authorization or authorization in self.revoked:
            return None
        if authorization.startswith("Bearer "):
            user_id = self.oauth_tokens.get(authorization.removeprefix("Bearer "))
        else:
            user_id = self.api_keys.get(authorization)
        return next((u for u in self.store.users if u["id"] == user_id), None)


def _run(
    query: str, variables: dict[str, Any] | None, operation: str | None, request: _Request
) -> tuple[ExecutionResult, bool]:
    """Parse, validate and execute against the real schema. True when the real API would have refused
    the request (syntax, validation, variable types), or when a resolver of the fake itself crashed."""
    schema = load_schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        return ExecutionResult(data=None, errors=[error]), True
    problems = validate(schema, document)
    if problems:
        return ExecutionResult(data=None, errors=problems), True
    result = execute(
        schema,
        document,
        variable_values=variables,
        operation_name=operation,
        context_value=request,
        field_resolver=_resolve,
    )
    assert not hasattr(result, "__await__"), "resolvers are synchronous"
    assert isinstance(result, ExecutionResult)
    rejected = any(not e.path for e in result.errors or [])  # variable coercion: refused before execution
    crashed = [
        e
        for e in result.errors or []
        if e.original_error is not None and not isinstance(e.original_error, GraphQLError)
    ]
    return result, rejected or bool(crashed)


def _formatted(error: GraphQLError, rejected: bool) -> dict[str, Any]:
    formatted = dict(error.formatted)
    if rejected and not formatted.get("extensions"):
        formatted["extensions"] = {
            "code": "GRAPHQL_VALIDATION_FAILED",
            "type": "graphql error",
            "statusCode": 400,
        }
    return formatted


def _errors(
    message: str, code: str, kind: str, status: int, presentable: str | None = None
) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [
            {
                "message": message,
                "extensions": {
                    "type": kind,
                    "code": code,
                    "statusCode": status,
                    "userError": True,
                    "userPresentableMessage": presentable or message,
                },
            }
        ],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        status, payload, headers = self.server.fake.handle(self.path, self.headers.get("authorization"), body)
        if isinstance(payload, str):
            data, kind = payload.encode(), "text/plain"
        else:
            data, kind = json.dumps(payload).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not traffic
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeLinear) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def serve_fake_linear() -> Iterator[FakeLinear]:
    """Serve a fresh fake on a free loopback port for the duration of the block."""
    load_schema()  # parse the big schema before the first request, not inside a timed one
    fake = FakeLinear()
    server = _Server(fake)
    host, port = server.server_address[:2]
    fake.url = f"http://{host!s}:{port}/graphql"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-linear", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
