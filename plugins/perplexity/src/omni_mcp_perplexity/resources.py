"""Resources: the organization's search history, a knowledge base built from it, and a usage guide.

History reads go through `ctx.store`, which is bound to the calling organization: one organization's
results are invisible to every other.
"""

from __future__ import annotations

import json
import re
from typing import Any

import mcp.types as types
from mcp.shared.exceptions import MCPError

from omni_mcp import CallContext, Resource, ResourceTemplate
from omni_mcp_perplexity import history

RECENT_LIMIT = 50
KNOWLEDGE_LIMIT = 100
TOP_SOURCES = 50
_KEY = re.compile(r"^[0-9a-f]{32}$")


async def read_searches(ctx: CallContext) -> str:
    """The newest results first, each with the URI holding it in full."""
    records = await history.recent(ctx, RECENT_LIMIT)
    return json.dumps(
        {
            "organization": ctx.actor.organization,
            "searches": [
                {
                    "uri": history.search_uri(str(record.get("id"))),
                    "tool": record.get("tool"),
                    "query": record.get("query"),
                    "created_at": record.get("created_at"),
                    "results": len(record.get("results") or []),
                    "citations": len(record.get("citations") or []),
                }
                for record in records
            ],
        },
        ensure_ascii=False,
        indent=2,
    )


async def read_search(ctx: CallContext, id: str) -> str:
    """One stored result in full."""
    record = await history.get(ctx, id) if _KEY.match(id) else None
    if record is None:
        uri = history.search_uri(id)
        raise MCPError(types.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})
    return json.dumps(record, ensure_ascii=False, indent=2)


async def read_knowledge_base(ctx: CallContext) -> str:
    """What the organization learnt through Perplexity: findings by question, and the sources behind them."""
    org = ctx.actor.organization
    records = await history.recent(ctx, KNOWLEDGE_LIMIT)
    if not records:
        return (
            f"# Perplexity knowledge base of {org}\n\nNothing yet. Results of perplexity_search, "
            "perplexity_ask, perplexity_reason, perplexity_research, perplexity_compare and "
            "perplexity_summarize are collected here.\n"
        )
    lines = [
        f"# Perplexity knowledge base of {org}",
        "",
        f"Built from the {len(records)} most recent results, newest first. "
        "Each result is kept in full at its perplexity://searches/... URI.",
        "",
        "## Findings",
        "",
    ]
    for record in records:
        when = str(record.get("created_at") or "")[:10]
        lines.append(
            f"- {when} · {record.get('tool')} · {_one_line(str(record.get('query') or ''), 200)} "
            f"({history.search_uri(str(record.get('id')))})"
        )
        answer = record.get("answer")
        if isinstance(answer, str) and answer:
            lines.append(f"  {_one_line(answer, 400)}")
    lines += ["", "## Sources, most used first", ""]
    for n, (url, title, uses) in enumerate(_sources(records)[:TOP_SOURCES], 1):
        label = f"[{_one_line(title, 150)}]({url})" if title else url
        lines.append(f"{n}. {label} — used by {uses} result{'s' if uses != 1 else ''}")
    return "\n".join(lines) + "\n"


def _sources(records: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    titles: dict[str, str] = {}
    uses: dict[str, int] = {}
    for record in records:
        urls: set[str] = set()
        for hit in record.get("results") or []:
            if isinstance(hit, dict) and isinstance(hit.get("url"), str):
                urls.add(hit["url"])
                if hit.get("title"):
                    titles.setdefault(hit["url"], str(hit["title"]))
        urls.update(url for url in record.get("citations") or [] if isinstance(url, str))
        for url in urls:
            uses[url] = uses.get(url, 0) + 1
    ranked = sorted(uses.items(), key=lambda item: (-item[1], item[0]))
    return [(url, titles.get(url, ""), count) for url, count in ranked]


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


GUIDE = """\
# Using Perplexity through omni-mcp

## Which tool
- perplexity_search: ranked web pages (title, URL, snippet, date); no AI answer. Cheapest; use it to
  find sources and recent news.
- perplexity_ask: a cited answer from a Sonar model (the organization's default_model unless `model`
  is given). Quick facts and explanations.
- perplexity_reason: step-by-step reasoning (sonar-reasoning-pro); `strip_thinking` drops the <think> part.
- perplexity_research: sonar-deep-research, a long cited report. Takes minutes; reports progress and
  stops upstream when cancelled.
- perplexity_compare: two to ten options side by side on chosen criteria, with a verdict.
- perplexity_summarize: a web page (url) or a text (text), summarized with citations.

## Filters
- search_recency_filter: hour, day, week, month or year.
- search_domain_filter: up to 20 domains, e.g. ["arxiv.org"]; "-reddit.com" excludes a domain. Do not
  mix included and excluded domains.
- search_mode: web (default), academic, or sec (SEC filings).
- search_after_date_filter / search_before_date_filter: MM/DD/YYYY.
- country (search only): two-letter code such as US or GB.

## Citations
Answers mark sources as [1], [2], ...; the n-th entry of `citations` is source [n]. `search_results`
adds titles, dates and snippets.

## History
Every result is kept for your organization only: perplexity://searches lists them, and
perplexity://knowledge-base gathers findings and the most used sources.
"""

RESOURCES: list[Resource | ResourceTemplate] = [
    Resource(
        "perplexity://searches",
        "perplexity_searches",
        description="This organization's recent Perplexity results, newest first",
        mime_type="application/json",
        read=read_searches,
        title="Recent Perplexity searches",
    ),
    ResourceTemplate(
        "perplexity://searches/{id}",
        "perplexity_search",
        read=read_search,
        description="One stored Perplexity result in full: query, answer, citations and search results",
        mime_type="application/json",
        title="A Perplexity search result",
    ),
    Resource(
        "perplexity://knowledge-base",
        "perplexity_knowledge_base",
        description="Findings and the most used sources from this organization's Perplexity results",
        mime_type="text/markdown",
        read=read_knowledge_base,
        title="Perplexity knowledge base",
    ),
    Resource(
        "perplexity://guide",
        "perplexity_guide",
        description="Which Perplexity tool to use when, and how to filter searches",
        mime_type="text/markdown",
        text=GUIDE,
        title="Perplexity usage guide",
    ),
]
