"""How Linear data is shown: one readable line per item for the model, plain JSON for programs."""

from __future__ import annotations

from typing import Any

from omni_mcp_linear.client import Page


def flatten(value: Any) -> Any:
    """Linear's `{nodes: [...]}` connections as plain lists, so structured results read naturally."""
    if isinstance(value, dict):
        if set(value) == {"nodes"}:
            return [flatten(item) for item in value["nodes"]]
        return {key: flatten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [flatten(item) for item in value]
    return value


def page_result(kind: str, page: Page, lines: list[str], **extra: Any) -> tuple[str, dict[str, Any]]:
    """Text and structured content of one page of a list, telling how to get the next page."""
    count = len(page.nodes)
    head = f"{count} {kind}" if count != 1 else f"1 {kind.rstrip('s')}"
    if page.total is not None:
        head += f" (of {int(page.total)} matching)"
    text = head + ":\n" + "\n".join(lines) if count else f"No {kind} found."
    if page.next_cursor:
        text += f'\nMore {kind}: call again with cursor="{page.next_cursor}".'
    structured = {
        kind: [flatten(node) for node in page.nodes],
        "pageInfo": {"hasNextPage": page.has_next_page, "endCursor": page.end_cursor},
        "nextCursor": page.next_cursor,
        **extra,
    }
    return text, structured


def issue_line(issue: dict[str, Any]) -> str:
    parts = [f"{issue['identifier']} {issue['title']}"]
    if issue.get("state"):
        parts.append(issue["state"]["name"])
    parts.append(issue.get("priorityLabel") or "No priority")
    assignee = issue.get("assignee")
    parts.append(f"assignee: {_person(assignee)}" if assignee else "unassigned")
    labels = [label["name"] for label in (issue.get("labels") or {}).get("nodes", [])]
    if labels:
        parts.append("labels: " + ", ".join(labels))
    if issue.get("project"):
        parts.append(f"project: {issue['project']['name']}")
    if issue.get("cycle"):
        parts.append(f"cycle {_number(issue['cycle']['number'])}")
    if issue.get("dueDate"):
        parts.append(f"due {issue['dueDate']}")
    if issue.get("estimate") is not None:
        parts.append(f"estimate {_number(issue['estimate'])}")
    if issue.get("archivedAt"):
        parts.append("archived")
    return "- " + " | ".join(parts) + (f" <{issue['url']}>" if issue.get("url") else "")


def issue_detail(issue: dict[str, Any]) -> str:
    lines = [
        issue_line(issue)[2:],
        f"id: {issue['id']}",
        f"team: {issue['team']['key']} ({issue['team']['name']})",
    ]
    if issue.get("creator"):
        lines.append(f"created by {_person(issue['creator'])} at {issue['createdAt']}")
    lines.append(f"updated at {issue['updatedAt']}")
    if issue.get("parent"):
        lines.append(f"parent: {issue['parent']['identifier']} {issue['parent']['title']}")
    children = (issue.get("children") or {}).get("nodes") or []
    if children:
        lines.append("sub-issues:")
        lines += [f"  - {c['identifier']} {c['title']} ({c['state']['name']})" for c in children]
    lines.append("")
    lines.append(issue.get("description") or "(no description)")
    return "\n".join(lines)


def team_line(team: dict[str, Any]) -> str:
    line = f"- {team['key']} {team['name']} (id {team['id']})"
    if team.get("description"):
        line += f": {team['description']}"
    return line


def user_line(user: dict[str, Any]) -> str:
    flags = [flag for flag, on in (("you", user.get("isMe")), ("admin", user.get("admin"))) if on]
    if user.get("guest"):
        flags.append("guest")
    if user.get("active") is False:
        flags.append("deactivated")
    return f"- {_person(user)} <{user['email']}> (id {user['id']})" + (
        f" [{', '.join(flags)}]" if flags else ""
    )


def comment_line(comment: dict[str, Any]) -> str:
    who = _person(comment["user"]) if comment.get("user") else "(integration)"
    body = comment["body"].strip().replace("\n", "\n  ")
    return f"- {who} at {comment['createdAt']} (id {comment['id']}):\n  {body}"


def state_line(state: dict[str, Any]) -> str:
    team = f"{state['team']['key']}: " if state.get("team") else ""
    return f"- {team}{state['name']} (type {state['type']}, id {state['id']})"


def label_line(label: dict[str, Any]) -> str:
    scope = f"team {label['team']['key']}" if label.get("team") else "workspace"
    parent = f"{label['parent']['name']} / " if label.get("parent") else ""
    group = ", group" if label.get("isGroup") else ""
    return f"- {parent}{label['name']} ({scope}{group}, id {label['id']})"


def project_line(project: dict[str, Any]) -> str:
    parts = [project["name"]]
    if project.get("status"):
        parts.append(project["status"]["name"])
    if project.get("progress") is not None:
        parts.append(f"{round(project['progress'] * 100)}% done")
    if project.get("lead"):
        parts.append(f"lead: {_person(project['lead'])}")
    teams = [t["key"] for t in (project.get("teams") or {}).get("nodes", [])]
    if teams:
        parts.append("teams: " + ", ".join(teams))
    if project.get("targetDate"):
        parts.append(f"target {project['targetDate']}")
    return "- " + " | ".join(parts) + f" (id {project['id']})"


def cycle_line(cycle: dict[str, Any]) -> str:
    when = "active" if cycle.get("isActive") else "upcoming" if cycle.get("isFuture") else "past"
    name = f" {cycle['name']}" if cycle.get("name") else ""
    progress = f", {round(cycle['progress'] * 100)}% done" if cycle.get("progress") is not None else ""
    return (
        f"- {cycle['team']['key']} cycle {_number(cycle['number'])}{name}: {cycle['startsAt'][:10]} to "
        f"{cycle['endsAt'][:10]} ({when}{progress}, id {cycle['id']})"
    )


def _person(user: dict[str, Any]) -> str:
    return str(user.get("name") or user.get("displayName") or user.get("email") or user.get("id"))


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
