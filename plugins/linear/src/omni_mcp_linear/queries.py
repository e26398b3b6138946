"""Every GraphQL document the plugin sends, in one place, so one test can validate them all against
Linear's public schema (a query the real API would reject must fail a test, not a user)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """A named operation with the fragments it uses; `mutation` ones are never retried blindly."""

    name: str
    text: str
    mutation: bool = False


_PAGE_INFO = "pageInfo { hasNextPage endCursor }"

_ISSUE_SUMMARY_FIELDS = """
  id identifier title priority priorityLabel url createdAt updatedAt archivedAt dueDate estimate
  state { id name type }
  team { id key name }
  assignee { id name displayName email }
  labels { nodes { id name } }
  project { id name }
  cycle { id number name }
"""

_ISSUE_SUMMARY = f"fragment IssueSummary on Issue {{{_ISSUE_SUMMARY_FIELDS}}}"
_SEARCH_SUMMARY = f"fragment SearchResultSummary on IssueSearchResult {{{_ISSUE_SUMMARY_FIELDS}}}"
_ISSUE_DETAIL = """fragment IssueDetail on Issue {
  ...IssueSummary
  description
  creator { id name displayName }
  parent { id identifier title }
  children(first: 50) { nodes { id identifier title state { name type } } }
}"""

_TEAM_FIELDS = "id key name description timezone cyclesEnabled issueEstimationType archivedAt"


def _document(name: str, body: str, *fragments: str, mutation: bool = False) -> Document:
    return Document(name, "\n".join((body.strip(), *fragments)), mutation=mutation)


VIEWER = _document(
    "Viewer",
    """query Viewer {
  viewer { id name displayName email admin active organization { id name urlKey } }
}""",
)

TEAMS = _document(
    "Teams",
    f"""query Teams($first: Int, $after: String, $filter: TeamFilter, $includeArchived: Boolean) {{
  teams(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived) {{
    nodes {{ {_TEAM_FIELDS} }}
    {_PAGE_INFO}
  }}
}}""",
)

TEAM_DETAIL = _document(
    "TeamDetail",
    f"""query TeamDetail($filter: TeamFilter!) {{
  teams(filter: $filter, first: 2) {{
    nodes {{
      {_TEAM_FIELDS}
      triageEnabled
      activeCycle {{ id number name startsAt endsAt progress }}
      states(first: 100) {{ nodes {{ id name type position color }} }}
      labels(first: 100) {{ nodes {{ id name color }} }}
      members(first: 100) {{ nodes {{ id name displayName email }} }}
    }}
  }}
}}""",
)

FIND_TEAMS = _document(
    "FindTeams",
    """query FindTeams($filter: TeamFilter!) {
  teams(filter: $filter, first: 5) {
    nodes { id key name states(first: 100) { nodes { id name type } } }
  }
}""",
)

USERS = _document(
    "Users",
    f"""query Users($first: Int, $after: String, $filter: UserFilter, $includeDisabled: Boolean) {{
  users(first: $first, after: $after, filter: $filter, includeDisabled: $includeDisabled) {{
    nodes {{ id name displayName email active admin guest isMe }}
    {_PAGE_INFO}
  }}
}}""",
)

ISSUES = _document(
    "Issues",
    f"""query Issues(
  $first: Int, $after: String, $filter: IssueFilter, $includeArchived: Boolean, $orderBy: PaginationOrderBy
) {{
  issues(
    first: $first, after: $after, filter: $filter, includeArchived: $includeArchived, orderBy: $orderBy
  ) {{
    nodes {{ ...IssueSummary }}
    {_PAGE_INFO}
  }}
}}""",
    _ISSUE_SUMMARY,
)

ISSUE = _document(
    "Issue",
    """query Issue($id: String!) {
  issue(id: $id) { ...IssueDetail }
}""",
    _ISSUE_DETAIL,
    _ISSUE_SUMMARY,
)

ISSUE_REF = _document(
    "IssueRef",
    """query IssueRef($id: String!) {
  issue(id: $id) { id identifier team { id key } labels { nodes { id name } } }
}""",
)

SEARCH_ISSUES = _document(
    "SearchIssues",
    f"""query SearchIssues(
  $term: String!, $first: Int, $after: String, $filter: IssueFilter,
  $includeComments: Boolean, $includeArchived: Boolean
) {{
  searchIssues(
    term: $term, first: $first, after: $after, filter: $filter,
    includeComments: $includeComments, includeArchived: $includeArchived
  ) {{
    totalCount
    nodes {{ ...SearchResultSummary }}
    {_PAGE_INFO}
  }}
}}""",
    _SEARCH_SUMMARY,
)

ISSUE_COMMENTS = _document(
    "IssueComments",
    f"""query IssueComments($id: String!, $first: Int, $after: String) {{
  issue(id: $id) {{
    id identifier title
    comments(first: $first, after: $after) {{
      nodes {{ id body createdAt updatedAt url user {{ id name displayName }} }}
      {_PAGE_INFO}
    }}
  }}
}}""",
)

WORKFLOW_STATES = _document(
    "WorkflowStates",
    f"""query WorkflowStates($first: Int, $after: String, $filter: WorkflowStateFilter) {{
  workflowStates(first: $first, after: $after, filter: $filter) {{
    nodes {{ id name type color position description team {{ id key name }} }}
    {_PAGE_INFO}
  }}
}}""",
)

ISSUE_LABELS = _document(
    "IssueLabels",
    f"""query IssueLabels($first: Int, $after: String, $filter: IssueLabelFilter) {{
  issueLabels(first: $first, after: $after, filter: $filter) {{
    nodes {{ id name color description isGroup parent {{ id name }} team {{ id key name }} }}
    {_PAGE_INFO}
  }}
}}""",
)

PROJECTS = _document(
    "Projects",
    f"""query Projects($first: Int, $after: String, $filter: ProjectFilter, $includeArchived: Boolean) {{
  projects(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived) {{
    nodes {{
      id name description url progress startDate targetDate archivedAt
      status {{ id name type }}
      lead {{ id name displayName }}
      teams(first: 20) {{ nodes {{ id key name }} }}
    }}
    {_PAGE_INFO}
  }}
}}""",
)

CYCLES = _document(
    "Cycles",
    f"""query Cycles($first: Int, $after: String, $filter: CycleFilter) {{
  cycles(first: $first, after: $after, filter: $filter) {{
    nodes {{
      id number name startsAt endsAt progress isActive isNext isPast isFuture
      team {{ id key name }}
    }}
    {_PAGE_INFO}
  }}
}}""",
)

ISSUE_CREATE = _document(
    "IssueCreate",
    """mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success lastSyncId issue { ...IssueDetail } }
}""",
    _ISSUE_DETAIL,
    _ISSUE_SUMMARY,
    mutation=True,
)

ISSUE_UPDATE = _document(
    "IssueUpdate",
    """mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success lastSyncId issue { ...IssueDetail } }
}""",
    _ISSUE_DETAIL,
    _ISSUE_SUMMARY,
    mutation=True,
)

COMMENT_CREATE = _document(
    "CommentCreate",
    """mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    success lastSyncId
    comment { id body createdAt updatedAt url user { id name displayName } issue { id identifier } }
  }
}""",
    mutation=True,
)

ALL: tuple[Document, ...] = (
    VIEWER,
    TEAMS,
    TEAM_DETAIL,
    FIND_TEAMS,
    USERS,
    ISSUES,
    ISSUE,
    ISSUE_REF,
    SEARCH_ISSUES,
    ISSUE_COMMENTS,
    WORKFLOW_STATES,
    ISSUE_LABELS,
    PROJECTS,
    CYCLES,
    ISSUE_CREATE,
    ISSUE_UPDATE,
    COMMENT_CREATE,
)
