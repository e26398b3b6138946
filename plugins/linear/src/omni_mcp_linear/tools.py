"""The `linear_*` tools. Each builds a client from the calling organization's settings, accepts names
and identifiers where Linear wants ids, and answers with readable text plus structured content.
Lists return one page and a `nextCursor` to continue."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from mcp.types import ToolAnnotations
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolGroup, ToolResult
from omni_mcp_linear import queries, refs
from omni_mcp_linear.client import LinearClient, LinearNotFoundError
from omni_mcp_linear.connect import linear
from omni_mcp_linear.render import (
    comment_line,
    cycle_line,
    flatten,
    issue_detail,
    issue_line,
    label_line,
    page_result,
    project_line,
    state_line,
    team_line,
    user_line,
)

group = ToolGroup("linear", description="Linear issue tracking: teams, issues, comments, projects, cycles")

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)

Limit = Annotated[int, Field(ge=1, le=100, description="How many items to return in this page (1-100).")]
Cursor = Annotated[
    str | None, Field(description="nextCursor from the previous page of this same list, to continue it.")
]
Team = Annotated[
    str | None, Field(description="Team key (e.g. 'ENG'), team name or team id. Omit for all teams.")
]
IssueRef = Annotated[
    str, Field(min_length=1, description="Issue identifier such as 'ENG-123', or the issue's id (UUID).")
]
Priority = Annotated[
    int | None, Field(ge=0, le=4, description="0 = no priority, 1 = urgent, 2 = high, 3 = medium, 4 = low.")
]
Assignee = Annotated[
    str | None,
    Field(description="'me' (the key's own user), 'none', or a user's email, name, display name or id."),
]
State = Annotated[
    str | None,
    Field(
        description="Workflow state name (e.g. 'In Progress') or type: triage, backlog, unstarted, "
        "started, completed, canceled."
    ),
]
Labels = Annotated[list[str] | None, Field(description="Label names, e.g. ['Bug', 'Backend'].")]
Project = Annotated[str | None, Field(description="Project name or id.")]
Cycle = Annotated[
    str | None, Field(description="'active', 'next', 'previous', a cycle number such as '12', or a cycle id.")
]
Clearable = Literal["assignee", "project", "parent", "cycle", "due_date", "estimate"]
_CLEARED_FIELDS: dict[str, str] = {
    "assignee": "assigneeId",
    "project": "projectId",
    "parent": "parentId",
    "cycle": "cycleId",
    "due_date": "dueDate",
    "estimate": "estimate",
}


@group.tool(annotations=READ)
async def get_viewer(ctx: CallContext) -> ToolResult:
    """Who the organization's Linear key belongs to (the user 'me' refers to) and its Linear workspace."""
    async with linear(ctx) as (client, _):
        viewer = (await client.execute(queries.VIEWER))["viewer"]
    org = viewer["organization"]
    text = f"{viewer['name']} <{viewer['email']}> (id {viewer['id']})"
    text += f" in workspace {org['name']} ({org['urlKey']})"
    return ToolResult(text=text, structured={"viewer": viewer})


@group.tool(annotations=READ)
async def list_teams(
    ctx: CallContext,
    limit: Limit = 50,
    cursor: Cursor = None,
    include_archived: Annotated[bool, Field(description="Also list archived teams.")] = False,
) -> ToolResult:
    """List the Linear teams (key, name, id). Team keys prefix issue identifiers: ENG-123 is team ENG."""
    async with linear(ctx) as (client, _):
        _, page = await client.page(
            queries.TEAMS,
            {"first": limit, "after": cursor, "includeArchived": include_archived},
            ("teams",),
        )
    return _result(*page_result("teams", page, [team_line(t) for t in page.nodes]))


@group.tool(annotations=READ)
async def list_users(
    ctx: CallContext,
    query: Annotated[
        str | None, Field(description="Only users whose name, display name or email contains this.")
    ] = None,
    include_disabled: Annotated[bool, Field(description="Also list deactivated users.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ToolResult:
    """List the users of the Linear workspace (name, email, id), e.g. to find an assignee."""
    variables: dict[str, Any] = {"first": limit, "after": cursor, "includeDisabled": include_disabled}
    if query:
        variables["filter"] = {
            "or": [{field: {"containsIgnoreCase": query}} for field in ("name", "displayName", "email")]
        }
    async with linear(ctx) as (client, _):
        _, page = await client.page(queries.USERS, variables, ("users",))
    return _result(*page_result("users", page, [user_line(u) for u in page.nodes]))


@group.tool(annotations=READ)
async def list_issues(
    ctx: CallContext,
    team: Team = None,
    assignee: Annotated[
        str | None,
        Field(description="'me', 'none' (unassigned), or a user's email, name, display name or id."),
    ] = None,
    state: State = None,
    labels: Annotated[
        list[str] | None, Field(description="Only issues with any of these label names.")
    ] = None,
    project: Annotated[str | None, Field(description="Project name (or part of it) or project id.")] = None,
    priority: Priority = None,
    cycle: Cycle = None,
    order_by: Annotated[
        Literal["createdAt", "updatedAt"], Field(description="Newest first by creation or by last update.")
    ] = "updatedAt",
    include_archived: Annotated[bool, Field(description="Also list archived issues.")] = False,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> ToolResult:
    """List Linear issues, filtered by team, assignee, workflow state, labels, project, priority and
    cycle (all optional, combined with AND). Use linear_search_issues for free-text search."""
    conditions: list[dict[str, Any]] = []
    if team:
        conditions.append({"team": refs.team_filter(team)})
    if assignee:
        unassigned = assignee.strip().lower() in ("none", "unassigned")
        conditions.append({"assignee": {"null": True} if unassigned else refs.user_filter(assignee)})
    if state:
        conditions.append({"state": refs.state_filter(state)})
    if labels:
        conditions.append({"labels": {"some": {"name": {"in": labels}}}})
    if project:
        conditions.append({"project": refs.project_filter(project)})
    if priority is not None:
        conditions.append({"priority": {"eq": priority}})
    async with linear(ctx) as (client, _):
        if cycle:
            conditions.append({"cycle": refs.cycle_filter(cycle)})
        variables: dict[str, Any] = {
            "first": limit,
            "after": cursor,
            "orderBy": order_by,
            "includeArchived": include_archived,
        }
        if conditions:
            variables["filter"] = conditions[0] if len(conditions) == 1 else {"and": conditions}
        _, page = await client.page(queries.ISSUES, variables, ("issues",))
    return _result(*page_result("issues", page, [issue_line(i) for i in page.nodes]))


@group.tool(annotations=READ)
async def search_issues(
    ctx: CallContext,
    query: Annotated[str, Field(min_length=1, description="Words to look for in titles and descriptions.")],
    team: Team = None,
    state: State = None,
    include_comments: Annotated[bool, Field(description="Also search the issues' comments.")] = False,
    include_archived: Annotated[bool, Field(description="Also search archived issues.")] = False,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> ToolResult:
    """Full-text search of Linear issues, optionally within one team and workflow state."""
    conditions: list[dict[str, Any]] = []
    if team:
        conditions.append({"team": refs.team_filter(team)})
    if state:
        conditions.append({"state": refs.state_filter(state)})
    variables: dict[str, Any] = {
        "term": query,
        "first": limit,
        "after": cursor,
        "includeComments": include_comments,
        "includeArchived": include_archived,
    }
    if conditions:
        variables["filter"] = conditions[0] if len(conditions) == 1 else {"and": conditions}
    async with linear(ctx) as (client, _):
        _, page = await client.page(queries.SEARCH_ISSUES, variables, ("searchIssues",))
    text, structured = page_result("issues", page, [issue_line(i) for i in page.nodes], query=query)
    return _result(text, structured)


@group.tool(annotations=READ)
async def get_issue(ctx: CallContext, issue: IssueRef) -> ToolResult:
    """One Linear issue in full: description, state, assignee, labels, project, cycle, parent, sub-issues."""
    async with linear(ctx) as (client, _):
        try:
            data = await client.execute(queries.ISSUE, {"id": issue.strip()})
        except LinearNotFoundError:
            raise refs.issue_not_found(issue) from None
    if data.get("issue") is None:
        raise ToolError(str(refs.issue_not_found(issue)))
    return ToolResult(text=issue_detail(data["issue"]), structured={"issue": flatten(data["issue"])})


@group.tool(annotations=WRITE)
async def create_issue(
    ctx: CallContext,
    title: Annotated[str, Field(min_length=1, max_length=500, description="Short summary of the issue.")],
    team: Annotated[
        str | None,
        Field(description="Team key (e.g. 'ENG'), name or id. Default: the organization's default_team."),
    ] = None,
    description: Annotated[str | None, Field(description="Details, in Markdown.")] = None,
    assignee: Assignee = None,
    state: State = None,
    priority: Priority = None,
    labels: Labels = None,
    project: Project = None,
    parent: Annotated[str | None, Field(description="Parent issue identifier (e.g. 'ENG-12') or id.")] = None,
    due_date: Annotated[date | None, Field(description="Due date, YYYY-MM-DD.")] = None,
    estimate: Annotated[int | None, Field(ge=0, le=100, description="Estimate in the team's points.")] = None,
    cycle: Cycle = None,
) -> ToolResult:
    """Create a Linear issue. Names are looked up for you: team key, assignee ('me', email or name),
    state name, label names, project name, parent identifier, cycle ('active', 'next' or a number)."""
    async with linear(ctx) as (client, settings):
        team_ref = team or settings.default_team
        if not team_ref:
            raise ToolError(
                "no team given and this organization has no default_team: pass team (see "
                "linear_list_teams), or an admin can set one: "
                f"omni-mcp service set {ctx.actor.organization} linear default_team=ENG"
            )
        found_team = await refs.find_team(client, team_ref)
        fields: dict[str, Any] = {"teamId": found_team["id"], "title": title}
        if description is not None:
            fields["description"] = description
        if priority is not None:
            fields["priority"] = priority
        if estimate is not None:
            fields["estimate"] = estimate
        if due_date is not None:
            fields["dueDate"] = due_date.isoformat()
        fields.update(await _references(client, found_team, assignee, state, labels, project, parent, cycle))
        data = await client.execute(queries.ISSUE_CREATE, {"input": fields})
    created = data["issueCreate"]
    if not created.get("success") or created.get("issue") is None:
        raise ToolError("Linear did not create the issue (success: false)")
    issue = created["issue"]
    return ToolResult(
        text=f"Created {issue['identifier']}:\n{issue_detail(issue)}",
        structured={"issue": flatten(issue), "lastSyncId": created["lastSyncId"]},
    )


@group.tool(annotations=WRITE)
async def update_issue(
    ctx: CallContext,
    issue: IssueRef,
    title: Annotated[str | None, Field(min_length=1, max_length=500, description="New title.")] = None,
    description: Annotated[str | None, Field(description="New description (Markdown); replaces it.")] = None,
    assignee: Assignee = None,
    state: State = None,
    priority: Priority = None,
    labels: Annotated[
        list[str] | None, Field(description="Replace all labels with these label names.")
    ] = None,
    add_labels: Annotated[list[str] | None, Field(description="Label names to add.")] = None,
    remove_labels: Annotated[list[str] | None, Field(description="Label names to remove.")] = None,
    project: Project = None,
    parent: Annotated[str | None, Field(description="New parent issue identifier or id.")] = None,
    due_date: Annotated[date | None, Field(description="New due date, YYYY-MM-DD.")] = None,
    estimate: Annotated[int | None, Field(ge=0, le=100, description="New estimate.")] = None,
    cycle: Cycle = None,
    clear: Annotated[
        list[Clearable] | None, Field(description="Fields to empty, e.g. ['assignee', 'due_date'].")
    ] = None,
) -> ToolResult:
    """Change a Linear issue: only the fields given change. Move it to another state, reassign it,
    re-prioritise, relabel, or empty fields with `clear`."""
    async with linear(ctx) as (client, _):
        current = await refs.find_issue(client, issue)
        needs_team = state or labels or add_labels or remove_labels or cycle
        team = await refs.find_team(client, current["team"]["id"]) if needs_team else current["team"]
        fields: dict[str, Any] = {}
        if title is not None:
            fields["title"] = title
        if description is not None:
            fields["description"] = description
        if priority is not None:
            fields["priority"] = priority
        if estimate is not None:
            fields["estimate"] = estimate
        if due_date is not None:
            fields["dueDate"] = due_date.isoformat()
        fields.update(await _references(client, team, assignee, state, labels, project, parent, cycle))
        if add_labels:
            fields["addedLabelIds"] = await refs.find_label_ids(client, team, add_labels)
        if remove_labels:
            fields["removedLabelIds"] = await refs.find_label_ids(client, team, remove_labels)
        for name in clear or []:
            fields[_CLEARED_FIELDS[name]] = None
        if not fields:
            raise ToolError("nothing to change: give at least one field to update (or `clear`)")
        data = await client.execute(queries.ISSUE_UPDATE, {"id": current["id"], "input": fields})
    updated = data["issueUpdate"]
    if not updated.get("success") or updated.get("issue") is None:
        raise ToolError(f"Linear did not update {current['identifier']} (success: false)")
    result = updated["issue"]
    return ToolResult(
        text=f"Updated {result['identifier']} ({', '.join(sorted(fields))}):\n{issue_detail(result)}",
        structured={"issue": flatten(result), "changed": sorted(fields), "lastSyncId": updated["lastSyncId"]},
    )


@group.tool(annotations=READ)
async def list_comments(
    ctx: CallContext, issue: IssueRef, limit: Limit = 25, cursor: Cursor = None
) -> ToolResult:
    """The comments on a Linear issue: who wrote what, when."""
    async with linear(ctx) as (client, _):
        try:
            data, page = await client.page(
                queries.ISSUE_COMMENTS,
                {"id": issue.strip(), "first": limit, "after": cursor},
                ("issue", "comments"),
            )
        except LinearNotFoundError:
            raise refs.issue_not_found(issue) from None
    found = data["issue"]
    text, structured = page_result(
        "comments", page, [comment_line(c) for c in page.nodes], issue=found["identifier"]
    )
    return _result(f"{found['identifier']} {found['title']}\n{text}", structured)


@group.tool(annotations=WRITE)
async def add_comment(
    ctx: CallContext,
    issue: IssueRef,
    body: Annotated[str, Field(min_length=1, description="The comment, in Markdown.")],
) -> ToolResult:
    """Add a comment to a Linear issue, as the user the organization's key belongs to."""
    async with linear(ctx) as (client, _):
        found = await refs.find_issue(client, issue)
        data = await client.execute(queries.COMMENT_CREATE, {"input": {"issueId": found["id"], "body": body}})
    created = data["commentCreate"]
    if not created.get("success"):
        raise ToolError(f"Linear did not add the comment to {found['identifier']} (success: false)")
    comment = created["comment"]
    return ToolResult(
        text=f"Commented on {found['identifier']}:\n{comment_line(comment)}",
        structured={"comment": flatten(comment), "lastSyncId": created["lastSyncId"]},
    )


@group.tool(annotations=READ)
async def list_workflow_states(
    ctx: CallContext, team: Team = None, limit: Limit = 50, cursor: Cursor = None
) -> ToolResult:
    """The workflow states (Triage, Todo, In Progress, Done, ...) issues move through, per team."""
    variables: dict[str, Any] = {"first": limit, "after": cursor}
    if team:
        variables["filter"] = {"team": refs.team_filter(team)}
    async with linear(ctx) as (client, _):
        _, page = await client.page(queries.WORKFLOW_STATES, variables, ("workflowStates",))
    return _result(*page_result("states", page, [state_line(s) for s in page.nodes]))


@group.tool(annotations=READ)
async def list_labels(
    ctx: CallContext,
    team: Annotated[
        str | None,
        Field(description="Team key, name or id: that team's labels plus workspace labels. Omit for all."),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ToolResult:
    """The issue labels that can be put on issues (workspace-wide and per team)."""
    variables: dict[str, Any] = {"first": limit, "after": cursor}
    if team:
        variables["filter"] = {"or": [{"team": refs.team_filter(team)}, {"team": {"null": True}}]}
    async with linear(ctx) as (client, _):
        _, page = await client.page(queries.ISSUE_LABELS, variables, ("issueLabels",))
    return _result(*page_result("labels", page, [label_line(label) for label in page.nodes]))


@group.tool(annotations=READ)
async def list_projects(
    ctx: CallContext,
    team: Team = None,
    query: Annotated[str | None, Field(description="Only projects whose name contains this.")] = None,
    include_archived: Annotated[bool, Field(description="Also list archived projects.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ToolResult:
    """Linear projects with status, progress, lead, teams and target date."""
    conditions: list[dict[str, Any]] = []
    if team:
        conditions.append({"accessibleTeams": {"some": refs.team_filter(team)}})
    if query:
        conditions.append({"name": {"containsIgnoreCase": query}})
    variables: dict[str, Any] = {"first": limit, "after": cursor, "includeArchived": include_archived}
    if conditions:
        variables["filter"] = conditions[0] if len(conditions) == 1 else {"and": conditions}
    async with linear(ctx) as (client, _):
        _, page = await client.page(queries.PROJECTS, variables, ("projects",))
    return _result(*page_result("projects", page, [project_line(p) for p in page.nodes]))


@group.tool(annotations=READ)
async def list_cycles(
    ctx: CallContext,
    team: Team = None,
    which: Annotated[
        Literal["all", "active", "upcoming", "past"], Field(description="Which cycles (sprints) to list.")
    ] = "all",
    limit: Limit = 25,
    cursor: Cursor = None,
) -> ToolResult:
    """Cycles (sprints) with their dates and progress, per team."""
    conditions: list[dict[str, Any]] = []
    if team:
        conditions.append({"team": refs.team_filter(team)})
    flag = {"active": "isActive", "upcoming": "isFuture", "past": "isPast"}.get(which)
    if flag:
        conditions.append({flag: {"eq": True}})
    variables: dict[str, Any] = {"first": limit, "after": cursor}
    if conditions:
        variables["filter"] = conditions[0] if len(conditions) == 1 else {"and": conditions}
    async with linear(ctx) as (client, _):
        _, page = await client.page(queries.CYCLES, variables, ("cycles",))
    return _result(*page_result("cycles", page, [cycle_line(c) for c in page.nodes]))


async def _references(
    client: LinearClient,
    team: dict[str, Any],
    assignee: str | None,
    state: str | None,
    labels: list[str] | None,
    project: str | None,
    parent: str | None,
    cycle: str | None,
) -> dict[str, Any]:
    """Issue input fields for the names given, resolved to Linear ids within `team`."""
    fields: dict[str, Any] = {}
    if assignee and assignee.strip().lower() in ("none", "unassigned"):
        fields["assigneeId"] = None
    elif assignee:
        fields["assigneeId"] = await refs.find_user_id(client, assignee)
    if state:
        fields["stateId"] = refs.find_state_id(team, state)
    if labels is not None:
        fields["labelIds"] = await refs.find_label_ids(client, team, labels)
    if project:
        fields["projectId"] = await refs.find_project_id(client, project)
    if parent:
        fields["parentId"] = (await refs.find_issue(client, parent))["id"]
    if cycle:
        fields["cycleId"] = await refs.find_cycle_id(client, team, cycle)
    return fields


def _result(text: str, structured: dict[str, Any]) -> ToolResult:
    return ToolResult(text=text, structured=structured)
