"""The perplexity_* tools: search, ask, reason, research, compare and summarize."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import anyio
import mcp.types as types
from pydantic import Field

from omni_mcp import CallContext, ToolError, ToolGroup, ToolResult
from omni_mcp_perplexity import history
from omni_mcp_perplexity.client import Deadline, PerplexityClient, PerplexityError, RetryPolicy
from omni_mcp_perplexity.models import (
    Answer,
    CompareAnswer,
    Completion,
    Message,
    SearchHit,
    SearchOutput,
    StreamAssembler,
    SummaryAnswer,
    strip_thinking,
)
from omni_mcp_perplexity.settings import ChatModel, PerplexitySettings

T = TypeVar("T")

RESEARCH_MODEL = "sonar-deep-research"
PROGRESS_INTERVAL = 0.5
"""Seconds between progress notifications while deep research streams (phase changes are sent at once)."""
GATEWAY_MARGIN = 5.0
"""Seconds kept between our deadline and the gateway's, so our clearer error arrives first."""

perplexity = ToolGroup("perplexity", description="Web search, cited answers and deep research by Perplexity")

_WEB = types.ToolAnnotations(read_only_hint=True, open_world_hint=True, idempotent_hint=False)


def deadline(ctx: CallContext, seconds: float, setting: str) -> Deadline:
    """The setting's limit, or a little under the time the gateway leaves this call, whichever is sooner."""
    remaining = ctx.time_remaining()
    if remaining is not None:
        remaining = round(remaining, 1)  # for the message; a tenth of a second does not matter here
        ceiling = remaining - min(GATEWAY_MARGIN, remaining * 0.1)
        if ceiling < seconds:
            return Deadline(ceiling, setting, gateway_limit=remaining)
    return Deadline(seconds, setting)


# Arguments shared by several tools.

Messages = Annotated[
    list[Message],
    Field(
        min_length=1,
        max_length=100,
        description="The conversation: optional system messages, then user/assistant turns ending with user",
    ),
]
Recency = Annotated[
    Literal["hour", "day", "week", "month", "year"] | None,
    Field(description="Only use sources published within this period"),
]
Domains = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=253)]] | None,
    Field(
        max_length=20,
        description="Only search these domains, e.g. ['arxiv.org']; prefix with '-' to exclude one instead",
    ),
]
SearchMode = Annotated[
    Literal["web", "academic", "sec"] | None,
    Field(description="Which index to search: the web (default), academic papers, or SEC filings"),
]
ContextSize = Annotated[
    Literal["low", "medium", "high"] | None,
    Field(description="How much web context to retrieve: 'high' is more thorough and costs more"),
]
DateFilter = Annotated[
    str | None,
    Field(pattern=r"^\d{1,2}/\d{1,2}/\d{4}$", description="A date as MM/DD/YYYY, e.g. '3/1/2025'"),
]
StripThinking = Annotated[
    bool, Field(description="Remove <think>...</think> reasoning from the answer to save context")
]
ModelChoice = Annotated[
    ChatModel | None, Field(description="Model to answer with; the organization's default_model if omitted")
]


@perplexity.tool(annotations=_WEB, output_schema=SearchOutput, title="Search the web")
async def search(
    ctx: CallContext,
    query: Annotated[
        Annotated[str, Field(min_length=1, max_length=2000)]
        | Annotated[
            list[Annotated[str, Field(min_length=1, max_length=2000)]], Field(min_length=1, max_length=5)
        ],
        Field(description="What to search for; a list of up to 5 queries searches them together"),
    ],
    max_results: Annotated[int, Field(ge=1, le=20, description="How many results to return")] = 10,
    max_tokens_per_page: Annotated[
        int, Field(ge=256, le=2048, description="How much text to extract from each page")
    ] = 1024,
    country: Annotated[
        str | None,
        Field(
            pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code for regional results, e.g. 'US'"
        ),
    ] = None,
    search_recency_filter: Recency = None,
    search_domain_filter: Domains = None,
) -> ToolResult:
    """Search the web with Perplexity's Search API: ranked pages with title, URL, snippet and date.

    No model writes an answer; use perplexity_ask for that. Results are kept in the organization's
    search history (resource perplexity://searches).
    """
    if isinstance(query, str) and not query.strip():
        raise ToolError("Invalid arguments for tool 'perplexity_search': argument 'query' is empty")
    body: dict[str, Any] = {
        "query": query,
        "max_results": max_results,
        "max_tokens_per_page": max_tokens_per_page,
    }
    _put(body, "country", country.upper() if country else None)
    _put(body, "search_recency_filter", search_recency_filter)
    _put(body, "search_domain_filter", search_domain_filter)

    async def work(client: PerplexityClient, settings: PerplexitySettings) -> dict[str, Any]:
        return await client.search(body, deadline(ctx, settings.timeout, "timeout"))

    data = await _with_client(ctx, work)
    hits = _search_hits(data.get("results"))
    stored_as = await history.remember(
        ctx,
        {
            "tool": "search",
            "query": query if isinstance(query, str) else " | ".join(query),
            "results": [hit.model_dump(mode="json") for hit in hits],
        },
    )
    output = SearchOutput(id=_str_or_none(data.get("id")), query=query, results=hits, stored_as=stored_as)
    return ToolResult(text=_search_text(query, hits), structured=output.model_dump(mode="json"))


@perplexity.tool(annotations=_WEB, output_schema=Answer, title="Ask Perplexity")
async def ask(
    ctx: CallContext,
    messages: Messages,
    model: ModelChoice = None,
    search_mode: SearchMode = None,
    search_recency_filter: Recency = None,
    search_domain_filter: Domains = None,
    search_after_date_filter: DateFilter = None,
    search_before_date_filter: DateFilter = None,
    search_context_size: ContextSize = None,
    max_tokens: Annotated[
        int | None, Field(ge=1, le=128_000, description="Longest answer, in tokens")
    ] = None,
    temperature: Annotated[float | None, Field(ge=0, lt=2, description="Randomness, 0 to <2")] = None,
    return_related_questions: Annotated[
        bool, Field(description="Also suggest follow-up questions (in related_questions)")
    ] = False,
    strip_thinking: StripThinking = False,
) -> ToolResult:
    """Answer a question with web-grounded AI (Sonar models), citing sources with [n] markers.

    Best for quick factual questions and explanations. For step-by-step analysis use perplexity_reason;
    for long multi-source reports use perplexity_research.
    """

    async def work(client: PerplexityClient, settings: PerplexitySettings) -> Completion:
        body = _chat_body(
            model or settings.default_model,
            messages,
            search_mode=search_mode,
            search_recency_filter=search_recency_filter,
            search_domain_filter=search_domain_filter,
            search_after_date_filter=search_after_date_filter,
            search_before_date_filter=search_before_date_filter,
            search_context_size=search_context_size,
            max_tokens=max_tokens,
            temperature=temperature,
            return_related_questions=return_related_questions or None,
        )
        return await client.chat(body, deadline(ctx, settings.timeout, "timeout"))

    completion = await _with_client(ctx, work)
    return await _answer(ctx, "ask", _last_user(messages), completion, strip_thinking, Answer)


@perplexity.tool(annotations=_WEB, output_schema=Answer, title="Reason with Perplexity")
async def reason(
    ctx: CallContext,
    messages: Messages,
    model: Annotated[
        Literal["sonar-reasoning-pro", "sonar-reasoning"],
        Field(description="Reasoning model: sonar-reasoning-pro is more thorough"),
    ] = "sonar-reasoning-pro",
    search_mode: SearchMode = None,
    search_recency_filter: Recency = None,
    search_domain_filter: Domains = None,
    search_context_size: ContextSize = None,
    strip_thinking: StripThinking = False,
) -> ToolResult:
    """Work through a question step by step with web grounding (Sonar reasoning models), citing sources.

    Best for logic, math, trade-offs and multi-step analysis. The model's reasoning comes in a
    <think> block first; set strip_thinking to drop it.
    """

    async def work(client: PerplexityClient, settings: PerplexitySettings) -> Completion:
        body = _chat_body(
            model,
            messages,
            search_mode=search_mode,
            search_recency_filter=search_recency_filter,
            search_domain_filter=search_domain_filter,
            search_context_size=search_context_size,
        )
        return await client.chat(body, deadline(ctx, settings.timeout, "timeout"))

    completion = await _with_client(ctx, work)
    return await _answer(ctx, "reason", _last_user(messages), completion, strip_thinking, Answer)


@perplexity.tool(annotations=_WEB, output_schema=Answer, title="Deep research", task_support="optional")
async def research(
    ctx: CallContext,
    messages: Messages,
    reasoning_effort: Annotated[
        Literal["minimal", "low", "medium", "high"] | None,
        Field(description="How deep to research: higher is more thorough, slower and costlier"),
    ] = None,
    search_mode: SearchMode = None,
    search_recency_filter: Recency = None,
    search_domain_filter: Domains = None,
    strip_thinking: StripThinking = False,
) -> ToolResult:
    """Deep, multi-source research into a detailed cited report (sonar-deep-research). Takes minutes.

    Progress notifications report what has streamed so far; cancelling the call (or its task: clients of
    the MCP tasks extension run it as one) stops the research upstream. The run is bounded by the
    organization's research_timeout setting and by the gateway's tool_timeout.
    """
    progress = _ResearchProgress(ctx)

    async def work(client: PerplexityClient, settings: PerplexitySettings) -> Completion:
        body = _chat_body(
            RESEARCH_MODEL,
            messages,
            search_mode=search_mode,
            search_recency_filter=search_recency_filter,
            search_domain_filter=search_domain_filter,
            reasoning_effort=reasoning_effort,
        )
        await progress.send(0, f"Asked {RESEARCH_MODEL}; waiting for the first results")
        return await client.stream_chat(
            body, deadline(ctx, settings.research_timeout, "research_timeout"), progress
        )

    completion = await _with_client(ctx, work)
    await progress.send(
        len(completion.content),
        f"Research complete: {len(completion.content):,} characters, {len(completion.citations)} sources",
    )
    return await _answer(ctx, "research", _last_user(messages), completion, strip_thinking, Answer)


@perplexity.tool(annotations=_WEB, output_schema=CompareAnswer, title="Compare options")
async def compare(
    ctx: CallContext,
    items: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]],
        Field(min_length=2, max_length=10, description="The things to compare, e.g. ['PostgreSQL', 'MySQL']"),
    ],
    criteria: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]] | None,
        Field(max_length=20, description="What to compare them on, e.g. ['cost', 'performance']"),
    ] = None,
    context: Annotated[
        str | None, Field(max_length=4000, description="The situation or goal the comparison serves")
    ] = None,
    model: ModelChoice = None,
    search_recency_filter: Recency = None,
    search_domain_filter: Domains = None,
    strip_thinking: StripThinking = True,
) -> ToolResult:
    """Compare two or more items or options side by side, with sources.

    Answers with a table over the criteria, strengths and weaknesses of each, and a verdict on which
    fits which needs.
    """
    listed = "\n".join(f"- {item}" for item in items)
    request = f"Compare these {len(items)} options:\n{listed}"
    if criteria:
        request += "\n\nCompare them on these criteria, in this order:\n" + "\n".join(
            f"- {c}" for c in criteria
        )
    if context:
        request += f"\n\nContext for the comparison: {context}"
    conversation = [Message(role="system", content=COMPARE_SYSTEM), Message(role="user", content=request)]

    async def work(client: PerplexityClient, settings: PerplexitySettings) -> Completion:
        body = _chat_body(
            model or settings.default_model,
            conversation,
            search_recency_filter=search_recency_filter,
            search_domain_filter=search_domain_filter,
        )
        return await client.chat(body, deadline(ctx, settings.timeout, "timeout"))

    completion = await _with_client(ctx, work)
    return await _answer(
        ctx,
        "compare",
        " vs ".join(items),
        completion,
        strip_thinking,
        CompareAnswer,
        extra={"items": items, "criteria": criteria or []},
    )


@perplexity.tool(annotations=_WEB, output_schema=SummaryAnswer, title="Summarize a page or text")
async def summarize(
    ctx: CallContext,
    url: Annotated[
        str | None,
        Field(pattern=r"^https?://\S+$", max_length=2048, description="The web page to summarize"),
    ] = None,
    text: Annotated[
        str | None, Field(min_length=1, max_length=100_000, description="Text to summarize instead of a URL")
    ] = None,
    focus: Annotated[
        str | None, Field(max_length=1000, description="What the summary should concentrate on")
    ] = None,
    length: Annotated[
        Literal["brief", "standard", "detailed"], Field(description="How long the summary should be")
    ] = "standard",
    model: ModelChoice = None,
    strip_thinking: StripThinking = True,
) -> ToolResult:
    """Summarize a web page (give url) or a text (give text), with citations.

    For a text, its main claims are checked against current web sources.
    """
    if (url is None) == (text is None):
        raise ToolError(
            "Invalid arguments for tool 'perplexity_summarize': give 'url' or 'text' (exactly one)"
        )
    shape = SUMMARY_LENGTHS[length]
    aim = f" Concentrate on: {focus}." if focus else ""
    domains: list[str] | None = None
    if url is not None:
        request = (
            f"Summarize the web page at {url} {shape}.{aim} Base the summary on that page and cite it and "
            "any other source with [n] markers. If you cannot read the page, say so instead of guessing."
        )
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        domains = [host] if host else None
    else:
        request = (
            f"Summarize the text between the markers {shape}.{aim} Check its main claims against current "
            "web sources, cite them with [n] markers, and point out claims the sources contradict.\n"
            f"<<<TEXT\n{text}\nTEXT>>>"
        )
    conversation = [Message(role="system", content=SUMMARY_SYSTEM), Message(role="user", content=request)]

    async def work(client: PerplexityClient, settings: PerplexitySettings) -> Completion:
        body = _chat_body(model or settings.default_model, conversation, search_domain_filter=domains)
        return await client.chat(body, deadline(ctx, settings.timeout, "timeout"))

    completion = await _with_client(ctx, work)
    source = url or "text"
    summary_of = url or (text or "")[:200]
    return await _answer(
        ctx, "summarize", summary_of, completion, strip_thinking, SummaryAnswer, extra={"source": source}
    )


COMPARE_SYSTEM = (
    "You compare options for someone who must choose between them. Be factual, current and even-handed, "
    "and cite sources with [n] markers. Structure the answer as: a markdown table with one row per "
    "criterion and one column per option; then strengths and weaknesses of each option; then a short "
    "verdict saying which option suits which needs. Say where sources disagree or evidence is thin."
)
SUMMARY_SYSTEM = (
    "You write faithful summaries. Keep the source's meaning, do not add opinions, and cite sources "
    "with [n] markers."
)
SUMMARY_LENGTHS = {
    "brief": "in 3 to 5 bullet points",
    "standard": "in one or two paragraphs followed by the key points as bullets",
    "detailed": "as a structured summary with headings that covers every main point",
}


class _ResearchProgress:
    """Turns streamed chunks into progress notifications: on each phase change, else at most every interval.

    Progress counts characters received, so it only grows, as MCP requires.
    """

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.last_value = -1.0
        self.last_time = 0.0
        self.last_phase = ""

    async def __call__(self, stream: StreamAssembler) -> None:
        now = anyio.current_time()
        if stream.phase == self.last_phase and now - self.last_time < PROGRESS_INTERVAL:
            return
        self.last_phase = stream.phase
        sources = len(stream.fields.get("citations") or [])
        doing = "Writing the report" if stream.phase == "writing" else "Researching"
        await self.send(stream.length, f"{doing}: {stream.length:,} characters so far, {sources} sources")

    async def send(self, value: float, message: str) -> None:
        if value <= self.last_value:
            return
        self.last_value = value
        self.last_time = anyio.current_time()
        try:
            await self.ctx.report_progress(value, None, message)
        except Exception as error:  # a lost notification must not end a long research
            self.ctx.logger.debug("progress notification failed: {}", error)


def _configured(ctx: CallContext) -> tuple[PerplexitySettings, str]:
    org = ctx.actor.organization
    settings = ctx.settings
    if not isinstance(settings, PerplexitySettings):
        why = ctx.settings_error or "they are missing"
        raise ToolError(
            f"The Perplexity settings of organization '{org}' cannot be used: {why}. "
            f"Fix them with: omni-mcp service set {org} perplexity NAME=VALUE"
        )
    key = settings.api_key.get_secret_value().strip() if settings.api_key is not None else ""
    if not key:
        raise ToolError(
            f"Perplexity is not set up for organization '{org}': the 'api_key' setting is missing. "
            f"Set it with: omni-mcp service set {org} perplexity api_key=pplx-..."
        )
    return settings, key


async def _with_client(
    ctx: CallContext, work: Callable[[PerplexityClient, PerplexitySettings], Awaitable[T]]
) -> T:
    """Run `work` with a client for this organization; PerplexityErrors become clear tool errors."""
    settings, key = _configured(ctx)
    client = PerplexityClient(
        api_key=key,
        base_url=settings.base_url,
        retry=RetryPolicy(settings.max_retries, settings.retry_backoff, settings.max_retry_wait),
        notice=lambda message: ctx.logger.info("{}: {}", ctx.name, message),
    )
    try:
        return await work(client, settings)
    except PerplexityError as error:
        ctx.logger.info("{} failed: {}", ctx.name, error)
        message = str(error)
        if error.setting is not None:
            message += " " + _how_to_change(error.setting, ctx.actor.organization)
        raise ToolError(message) from None


def _how_to_change(setting: str, organization: str) -> str:
    extra = PerplexitySettings.model_fields[setting].json_schema_extra
    if isinstance(extra, dict) and extra.get("operator_only"):
        return f"The gateway's operator sets it: [plugins.settings.perplexity] {setting} in its config."
    return f"To change it: omni-mcp service set {organization} perplexity {setting}=..."


def _chat_body(model: str, messages: list[Message], **options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [m.model_dump() for m in messages]}
    context_size = options.pop("search_context_size", None)
    for name, value in options.items():
        _put(body, name, value)
    if context_size is not None:
        body["web_search_options"] = {"search_context_size": context_size}
    return body


async def _answer(
    ctx: CallContext,
    tool: str,
    asked: str,
    completion: Completion,
    strip: bool,
    shape: type[Answer],
    extra: dict[str, Any] | None = None,
) -> ToolResult:
    text = strip_thinking(completion.content) if strip else completion.content.strip()
    stored_as = await history.remember(
        ctx,
        {
            "tool": tool,
            "query": asked[:500],
            "model": completion.model,
            "answer": text,
            "citations": completion.citations,
            "results": [hit.model_dump(mode="json") for hit in completion.search_results],
        },
    )
    output = shape.model_validate(
        {
            "id": completion.id,
            "model": completion.model,
            "answer": text,
            "citations": completion.citations,
            "search_results": completion.search_results,
            "related_questions": completion.related_questions,
            "usage": completion.usage,
            "thinking_stripped": strip,
            "stored_as": stored_as,
            **(extra or {}),
        }
    )
    readable = text
    if completion.citations:
        readable += "\n\nCitations:\n" + "\n".join(
            f"[{n}] {url}" for n, url in enumerate(completion.citations, 1)
        )
    return ToolResult(text=readable, structured=output.model_dump(mode="json"))


def _search_hits(raw: Any) -> list[SearchHit]:
    """The Search API's results; a multi-query search nests one list per query, flattened here."""
    hits: list[SearchHit] = []
    for item in raw if isinstance(raw, list) else []:
        for entry in item if isinstance(item, list) else [item]:
            if isinstance(entry, dict) and isinstance(entry.get("url"), str):
                hits.append(SearchHit.model_validate(entry))
    return hits


def _search_text(query: str | list[str], hits: list[SearchHit]) -> str:
    asked = query if isinstance(query, str) else " | ".join(query)
    if not hits:
        return f'No results for "{asked}".'
    lines = [f'Found {len(hits)} results for "{asked}":', ""]
    for n, hit in enumerate(hits, 1):
        lines.append(f"{n}. {hit.title or hit.url}")
        lines.append(f"   URL: {hit.url}")
        if hit.date:
            lines.append(f"   Date: {hit.date}")
        if hit.snippet:
            lines.append(f"   {' '.join(hit.snippet.split())}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _last_user(messages: list[Message]) -> str:
    return next((m.content for m in reversed(messages) if m.role == "user"), messages[-1].content)


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        body[name] = value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
