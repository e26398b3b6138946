"""Linear resources: live team data read with the calling organization's key, and issue templates
(plain text defaults that each organization may override with its own)."""

from __future__ import annotations

import json
from typing import Any

from omni_mcp import CallContext, Resource, ResourceNotFound, ResourceTemplate
from omni_mcp_linear import queries, refs
from omni_mcp_linear.connect import linear
from omni_mcp_linear.render import flatten


async def read_teams(ctx: CallContext) -> str:
    """Every team, as JSON: what `linear://teams/{id}` accepts."""
    async with linear(ctx) as (client, _):
        teams = [team async for team in client.iterate(queries.TEAMS, {}, ("teams",), max_items=250)]
    return json.dumps({"teams": teams}, indent=2)


async def read_team(ctx: CallContext, id: str) -> str:
    """One team, as JSON: workflow states, labels, members and the active cycle."""
    async with linear(ctx) as (client, _):
        data = await client.execute(queries.TEAM_DETAIL, {"filter": refs.team_filter(id)})
    nodes: list[dict[str, Any]] = data["teams"]["nodes"]
    exact = [n for n in nodes if id.strip().lower() in (n["key"].lower(), n["id"])]
    chosen = exact or nodes
    if len(chosen) != 1:
        raise ResourceNotFound(f"no single Linear team matches {id!r}; read linear://teams for the list")
    return json.dumps({"team": flatten(chosen[0])}, indent=2)


BUG_REPORT = """# Bug report

Title: <what is broken, where> (e.g. "Login fails with SSO on Safari")
Priority: 1 urgent (outage, data loss) | 2 high (blocks work) | 3 medium | 4 low
Labels: Bug

## What happened
<observed behaviour; paste the exact error message>

## What should have happened
<expected behaviour>

## Steps to reproduce
1. ...
2. ...

## Environment
<app version, browser / OS, account or workspace affected>

## Impact
<who is affected and how many; is there a workaround?>
"""

FEATURE_REQUEST = """# Feature request

Title: <the capability, as a user would name it>
Labels: Feature

## Problem
<who needs this, and what they cannot do today>

## Proposal
<the smallest change that solves the problem>

## Acceptance criteria
- [ ] ...
- [ ] ...

## Out of scope
<what this issue deliberately does not cover>
"""

TECH_DEBT = """# Technical debt / chore

Title: <the component and the change> (e.g. "Replace deprecated payment SDK")
Labels: Tech debt (or the team's equivalent)

## Why now
<the risk or cost of leaving it: incidents, slowness, deprecations, security>

## Plan
<steps; how to roll out and roll back>

## Done when
- [ ] ...
"""


def resources() -> list[Resource | ResourceTemplate]:
    return [
        Resource(
            "linear://teams",
            "linear_teams",
            description="Every Linear team of the organization's workspace (key, name, id), as JSON.",
            mime_type="application/json",
            read=read_teams,
        ),
        ResourceTemplate(
            "linear://teams/{id}",
            "linear_team",
            description="A Linear team by key (e.g. ENG) or id: workflow states, labels, members, active "
            "cycle, as JSON.",
            mime_type="application/json",
            read=read_team,
        ),
        Resource(
            "linear://templates/bug-report",
            "linear_template_bug_report",
            description="Issue template for bug reports (use with linear_create_issue).",
            mime_type="text/markdown",
            text=BUG_REPORT,
        ),
        Resource(
            "linear://templates/feature-request",
            "linear_template_feature_request",
            description="Issue template for feature requests.",
            mime_type="text/markdown",
            text=FEATURE_REQUEST,
        ),
        Resource(
            "linear://templates/tech-debt",
            "linear_template_tech_debt",
            description="Issue template for technical debt and chores.",
            mime_type="text/markdown",
            text=TECH_DEBT,
        ),
    ]
