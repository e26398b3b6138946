"""Linear prompts as text templates: the core stores them as defaults, so each organization can
override or hide them without code."""

from __future__ import annotations

from omni_mcp import Prompt, PromptArgument

ISSUE_TRIAGE = """Triage the incoming Linear issues of team {team}.

1. Call linear_list_issues with team="{team}" and state="triage" (if that finds nothing, use
   state="backlog" and assignee="none"), order_by="createdAt". Fetch at most {limit} issues,
   following nextCursor if needed.
2. Call linear_list_labels with team="{team}" and linear_list_workflow_states with team="{team}" so your
   suggestions use labels and states that exist.
3. For each issue, read it with linear_get_issue when the title is not enough, then propose:
   priority (1 urgent, 2 high, 3 medium, 4 low), labels, an assignee (linear_list_users), the next
   workflow state, and whether it duplicates another issue (linear_search_issues with its key words).
4. Show the proposals as a table (issue, priority, labels, assignee, state, reason) and ask me to confirm.
5. Only after I confirm, apply them with linear_update_issue, and add a short linear_add_comment to any
   issue whose proposal needs explaining (duplicates, questions for the reporter).

Extra guidance from me: {focus}
"""

SPRINT_PLANNING = """Plan the next cycle (sprint) for Linear team {team}.

1. Call linear_list_cycles with team="{team}" and which="active", then which="upcoming", to find the
   current and the next cycle. The cycle to plan: {cycle}.
2. Call linear_list_issues with team="{team}" and cycle="active" to see what is unfinished in the current
   cycle; those issues are carry-over candidates.
3. Call linear_list_issues with team="{team}" and state="unstarted", then state="backlog", ordered by
   priority as you judge it (urgent and high first), following nextCursor as needed.
4. Capacity: {capacity} estimate points.
5. Propose a plan that fits the capacity: carry-over first, then by priority and dependencies. List the
   issues with their estimates and a total; call out unestimated issues and risks.
6. Ask me to confirm. Only then move the chosen issues into the cycle with linear_update_issue
   (cycle="next" or the cycle number) and leave the rest where they are.
"""

WORKFLOW = """Work Linear issue {issue} through its team's workflow.

1. Read it with linear_get_issue and its discussion with linear_list_comments.
2. Call linear_list_workflow_states for its team to learn the states and their order
   (triage, backlog, unstarted, started, completed, canceled).
3. Decide the next step for the issue: {goal}.
   - Starting work: assign it to me (assignee="me") and move it to the first "started" state.
   - Blocked or needing input: comment with linear_add_comment saying what is needed, from whom.
   - Finished: move it to the "completed" state and comment with a short summary of what was done.
4. Tell me what you are about to change and ask for confirmation before calling linear_update_issue.
"""


def prompts() -> list[Prompt]:
    return [
        Prompt(
            "linear_issue_triage",
            "Triage a Linear team's incoming issues: propose priority, labels, assignee and state, "
            "then apply them once confirmed.",
            (
                PromptArgument("team", "Team key (e.g. ENG), name or id", required=True),
                PromptArgument("limit", "How many issues to triage (default 25)", default="25"),
                PromptArgument("focus", "Extra guidance, e.g. 'security issues are urgent'", default="none"),
            ),
            template=ISSUE_TRIAGE,
            title="Linear issue triage",
        ),
        Prompt(
            "linear_sprint_planning",
            "Plan the next Linear cycle for a team within its capacity, then move the chosen issues in.",
            (
                PromptArgument("team", "Team key (e.g. ENG), name or id", required=True),
                PromptArgument(
                    "capacity",
                    "Estimate points available in the cycle",
                    default='the last past cycle\'s completed (see linear_list_cycles which="past")',
                ),
                PromptArgument(
                    "cycle",
                    "Cycle to plan: 'next' (default) or a cycle number",
                    default="the next upcoming one",
                ),
            ),
            template=SPRINT_PLANNING,
            title="Linear sprint planning",
        ),
        Prompt(
            "linear_workflow",
            "Move one Linear issue to its next workflow step: start it, report a blocker, or finish it.",
            (
                PromptArgument("issue", "Issue identifier, e.g. ENG-123", required=True),
                PromptArgument(
                    "goal", "What should happen next, e.g. 'done: fixed in PR 42'", default="start work on it"
                ),
            ),
            template=WORKFLOW,
            title="Linear issue workflow",
        ),
    ]
