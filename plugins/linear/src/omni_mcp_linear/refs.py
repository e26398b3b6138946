"""Turn what a person types (a team key, "me", a state name, label names, "ENG-123") into Linear
filters and ids, so tools accept names and identifiers instead of demanding UUIDs."""

from __future__ import annotations

import re
from typing import Any

from omni_mcp_linear import queries
from omni_mcp_linear.client import LinearClient, LinearInputError, LinearNotFoundError

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
STATE_TYPES = ("triage", "backlog", "unstarted", "started", "completed", "canceled")
PRIORITIES = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def team_filter(team: str) -> dict[str, Any]:
    """A TeamFilter for an id, a key (ENG) or a name (Engineering)."""
    team = team.strip()
    if is_uuid(team):
        return {"id": {"eq": team}}
    return {"or": [{"key": {"eqIgnoreCase": team}}, {"name": {"eqIgnoreCase": team}}]}


def user_filter(who: str) -> dict[str, Any]:
    """A UserFilter for "me", an id, an email, or a name / display name."""
    who = who.strip()
    if who.lower() == "me":
        return {"isMe": {"eq": True}}
    if is_uuid(who):
        return {"id": {"eq": who}}
    if "@" in who:
        return {"email": {"eqIgnoreCase": who}}
    return {"or": [{"name": {"eqIgnoreCase": who}}, {"displayName": {"eqIgnoreCase": who}}]}


def state_filter(state: str) -> dict[str, Any]:
    """A WorkflowStateFilter for a state name ("In Progress") or a state type ("started")."""
    state = state.strip()
    if state.lower() in STATE_TYPES:
        return {"type": {"eq": state.lower()}}
    return {"name": {"eqIgnoreCase": state}}


def project_filter(project: str) -> dict[str, Any]:
    project = project.strip()
    if is_uuid(project):
        return {"id": {"eq": project}}
    return {"name": {"containsIgnoreCase": project}}


def cycle_filter(cycle: str) -> dict[str, Any]:
    """A CycleFilter for "active", "next", "previous", a cycle number, or an id."""
    cycle = cycle.strip().lower()
    named = {"active": "isActive", "current": "isActive", "next": "isNext", "previous": "isPrevious"}
    if cycle in named:
        return {named[cycle]: {"eq": True}}
    if cycle.isdigit():
        return {"number": {"eq": float(cycle)}}
    if is_uuid(cycle):
        return {"id": {"eq": cycle}}
    raise LinearInputError(
        f"cycle {cycle!r} is not understood: use active, next, previous, a cycle number or a cycle id"
    )


async def find_team(client: LinearClient, team: str) -> dict[str, Any]:
    """The one team `team` names, with its workflow states; not found lists the teams there are."""
    data = await client.execute(queries.FIND_TEAMS, {"filter": team_filter(team)})
    nodes = data["teams"]["nodes"]
    if len(nodes) == 1:
        return dict(nodes[0])
    exact = [n for n in nodes if n["key"].lower() == team.strip().lower()]
    if len(exact) == 1:
        return dict(exact[0])
    if nodes:
        names = ", ".join(f"{n['key']} ({n['name']})" for n in nodes)
        raise LinearInputError(f"team {team!r} is ambiguous: it matches {names}; use the team key")
    listed = await client.execute(queries.TEAMS, {"first": 50})
    known = ", ".join(f"{n['key']} ({n['name']})" for n in listed["teams"]["nodes"]) or "none"
    raise LinearNotFoundError(f"no Linear team matches {team!r}; teams: {known}")


async def find_user_id(client: LinearClient, who: str) -> str:
    if who.strip().lower() == "me":
        viewer = await client.execute(queries.VIEWER)
        return str(viewer["viewer"]["id"])
    if is_uuid(who.strip()):
        return who.strip()
    data = await client.execute(queries.USERS, {"filter": user_filter(who), "first": 5})
    nodes = data["users"]["nodes"]
    if len(nodes) == 1:
        return str(nodes[0]["id"])
    if nodes:
        names = ", ".join(f"{n['name']} <{n['email']}>" for n in nodes)
        raise LinearInputError(f"user {who!r} is ambiguous: it matches {names}; use an email")
    raise LinearNotFoundError(f"no Linear user matches {who!r}; see linear_list_users")


def find_state_id(team: dict[str, Any], state: str) -> str:
    """The id of `state` (a name, a type, or an id) among the team's workflow states."""
    states = team["states"]["nodes"]
    wanted = state.strip().lower()
    for candidates in (
        [s for s in states if s["id"] == state.strip()],
        [s for s in states if s["name"].lower() == wanted],
        [s for s in states if s["type"] == wanted],
    ):
        if candidates:
            return str(candidates[0]["id"])
    names = ", ".join(s["name"] for s in states)
    raise LinearNotFoundError(f"team {team['key']} has no workflow state {state!r}; its states: {names}")


async def find_label_ids(client: LinearClient, team: dict[str, Any], names: list[str]) -> list[str]:
    """Ids of the labels named, looked up in the team's labels and the workspace's."""
    wanted = {name.strip().lower(): name for name in names if name.strip()}
    if not wanted:
        return []
    data = await client.execute(
        queries.ISSUE_LABELS,
        {"first": 100, "filter": {"or": [{"name": {"eqIgnoreCase": name}} for name in wanted.values()]}},
    )
    found: dict[str, str] = {}
    for label in data["issueLabels"]["nodes"]:
        owner = label.get("team")
        if owner is None or owner["id"] == team["id"]:  # a workspace label, or this team's
            found.setdefault(label["name"].lower(), label["id"])
    missing = [original for key, original in wanted.items() if key not in found]
    if missing:
        raise LinearNotFoundError(
            f"no label {', '.join(repr(m) for m in missing)} in team {team['key']} or the workspace; "
            "see linear_list_labels"
        )
    return [found[key] for key in wanted]


async def find_project_id(client: LinearClient, project: str) -> str:
    if is_uuid(project.strip()):
        return project.strip()
    data = await client.execute(
        queries.PROJECTS, {"first": 10, "filter": {"name": {"eqIgnoreCase": project.strip()}}}
    )
    nodes = data["projects"]["nodes"]
    if not nodes:
        raise LinearNotFoundError(f"no Linear project named {project!r}; see linear_list_projects")
    return str(nodes[0]["id"])


async def find_cycle_id(client: LinearClient, team: dict[str, Any], cycle: str) -> str:
    if is_uuid(cycle.strip()):
        return cycle.strip()
    data = await client.execute(
        queries.CYCLES,
        {"first": 2, "filter": {"and": [{"team": {"id": {"eq": team["id"]}}}, cycle_filter(cycle)]}},
    )
    nodes = data["cycles"]["nodes"]
    if not nodes:
        raise LinearNotFoundError(f"team {team['key']} has no cycle {cycle!r}; see linear_list_cycles")
    return str(nodes[0]["id"])


async def find_issue(client: LinearClient, issue: str) -> dict[str, Any]:
    """The issue's id, identifier, team and labels, from a UUID or an identifier such as ENG-123."""
    try:
        data = await client.execute(queries.ISSUE_REF, {"id": issue.strip()})
    except LinearNotFoundError:
        raise issue_not_found(issue) from None
    if data.get("issue") is None:
        raise issue_not_found(issue)
    return dict(data["issue"])


def issue_not_found(issue: str) -> LinearNotFoundError:
    return LinearNotFoundError(
        f"Linear issue {issue.strip()!r} was not found (or this organization's key cannot see it)"
    )
