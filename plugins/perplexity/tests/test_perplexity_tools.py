"""Every tool end to end: the official MCP client, a real omni-mcp server, the real plugin, the fake API."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import mcp
import mcp.types as types
import pytest
from fake_perplexity import VALID_KEY, Behaviour, FakePerplexity, slug
from mcp.shared.exceptions import MCPError
from omni_mcp_perplexity import plugin as perplexity_plugin
from perplexity_helpers import GATEWAY_TOOL_TIMEOUT, gateway_settings, standard_settings, text_of, user

from omni_mcp.tenancy.service import ConfigError
from omni_mcp.testing import RunningGateway, free_port, fresh_database_url, serve_in_thread

pytestmark = pytest.mark.anyio

Configure = Callable[..., None]
Progress = list[tuple[float, float | None, str | None]]

TOOLS = {
    "perplexity_search",
    "perplexity_ask",
    "perplexity_reason",
    "perplexity_research",
    "perplexity_compare",
    "perplexity_summarize",
}


async def call(
    gateway: RunningGateway,
    era: str,
    tool: str,
    arguments: dict[str, Any],
    reports: Progress | None = None,
) -> types.CallToolResult:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        assert reports is not None
        reports.append((progress, total, message))

    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        return await client.call_tool(
            tool, arguments, progress_callback=on_progress if reports is not None else None
        )


async def test_lists_the_tools_prompts_and_resources(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        resources = {str(resource.uri) for resource in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert set(tools) == TOOLS
    assert tools["perplexity_search"].input_schema["required"] == ["query"]
    assert tools["perplexity_search"].annotations is not None
    assert tools["perplexity_search"].annotations.read_only_hint is True
    assert tools["perplexity_ask"].output_schema is not None
    assert "citations" in tools["perplexity_ask"].output_schema["properties"]
    assert {"perplexity_research_workflow", "perplexity_analysis", "perplexity_fact_check"} <= prompts
    assert {"perplexity://searches", "perplexity://knowledge-base", "perplexity://guide"} <= resources
    assert templates == {"perplexity://searches/{id}"}


async def test_search_sends_the_filters_and_returns_ranked_results(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    result = await call(
        gateway,
        era,
        "perplexity_search",
        {
            "query": "solid state batteries",
            "max_results": 3,
            "country": "us",
            "search_recency_filter": "week",
            "search_domain_filter": ["nature.com", "-reddit.com"],
        },
    )
    assert not result.is_error, text_of(result)
    (request,) = fake.to("/search")
    assert request.authorization == f"Bearer {VALID_KEY}"
    assert request.body == {
        "query": "solid state batteries",
        "max_results": 3,
        "max_tokens_per_page": 1024,
        "country": "US",
        "search_recency_filter": "week",
        "search_domain_filter": ["nature.com", "-reddit.com"],
    }
    structured = result.structured_content
    assert structured is not None
    assert [hit["url"] for hit in structured["results"]] == [
        f"https://example.com/solid-state-batteries/{n}" for n in (1, 2, 3)
    ]
    assert structured["results"][0]["date"] == "2025-03-01"
    assert structured["stored_as"].startswith("perplexity://searches/")
    text = text_of(result)
    assert text.startswith('Found 3 results for "solid state batteries":')
    assert "URL: https://example.com/solid-state-batteries/2" in text


async def test_search_with_several_queries_flattens_the_results(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    result = await call(gateway, era, "perplexity_search", {"query": ["alpha", "beta"], "max_results": 2})
    assert result.structured_content is not None
    urls = [hit["url"] for hit in result.structured_content["results"]]
    assert urls == [f"https://example.com/{q}/{n}" for q in ("alpha", "beta") for n in (1, 2)]
    assert fake.to("/search")[0].body["query"] == ["alpha", "beta"]


async def test_ask_uses_the_default_model_and_returns_answer_citations_and_sources(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    configure(default_model="sonar")
    result = await call(
        gateway,
        era,
        "perplexity_ask",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                *user("Who won the 2022 World Cup?"),
            ],
            "search_mode": "web",
            "search_recency_filter": "year",
            "search_context_size": "high",
            "search_after_date_filter": "1/1/2022",
            "temperature": 0.2,
            "return_related_questions": True,
        },
    )
    assert not result.is_error, text_of(result)
    (request,) = fake.to("/chat/completions")
    assert request.body["model"] == "sonar"
    assert request.body["stream"] is False
    assert request.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert request.body["web_search_options"] == {"search_context_size": "high"}
    assert request.body["search_after_date_filter"] == "1/1/2022"
    assert request.body["temperature"] == 0.2
    assert request.body["return_related_questions"] is True
    assert "max_tokens" not in request.body
    structured = result.structured_content
    assert structured is not None
    assert structured["answer"] == "Answer to: Who won the 2022 World Cup? [1][2]. Answered by sonar [3]."
    assert structured["model"] == "sonar"
    assert len(structured["citations"]) == 3
    assert structured["search_results"][0]["title"].startswith("Source 1 on")
    assert structured["usage"]["cost"]["total_cost"] == 0.006
    question = "Who won the 2022 World Cup?"
    assert structured["related_questions"] == [f"Why {question}?", f"When {question}?"]
    text = text_of(result)
    assert text.startswith(structured["answer"])
    assert "\n\nCitations:\n[1] https://example.org/who-won-the-2022-world-cup/1\n[2] " in text


async def test_ask_with_a_chosen_model(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    result = await call(gateway, era, "perplexity_ask", {"messages": user("hi"), "model": "sonar-reasoning"})
    assert fake.to("/chat/completions")[0].body["model"] == "sonar-reasoning"
    assert "<think>" in text_of(result)  # kept unless asked to strip


@pytest.mark.parametrize("strip", [False, True])
async def test_reason_keeps_or_strips_the_think_block(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure, strip: bool
) -> None:
    result = await call(
        gateway, era, "perplexity_reason", {"messages": user("Is 91 prime?"), "strip_thinking": strip}
    )
    assert fake.to("/chat/completions")[0].body["model"] == "sonar-reasoning-pro"
    structured = result.structured_content
    assert structured is not None
    assert structured["thinking_stripped"] is strip
    if strip:
        assert structured["answer"] == "Answer to: Is 91 prime? [1][2]. Answered by sonar-reasoning-pro [3]."
        assert "<think>" not in text_of(result)
    else:
        assert structured["answer"].startswith("<think>\nThe user asks: Is 91 prime?")


async def test_research_streams_and_reports_progress(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    fake.enqueue("/chat/completions", Behaviour(paragraphs=8, chunk_delay=0.01))
    progress: Progress = []
    result = await call(
        gateway,
        era,
        "perplexity_research",
        {"messages": user("history of the transistor"), "reasoning_effort": "high", "strip_thinking": True},
        progress,
    )
    assert not result.is_error, text_of(result)
    (request,) = fake.to("/chat/completions")
    assert request.body["model"] == "sonar-deep-research"
    assert request.body["stream"] is True
    assert request.body["reasoning_effort"] == "high"
    assert request.headers["accept"] == "text/event-stream"
    assert request.streamed and request.completed and request.frames_sent > 10
    structured = result.structured_content
    assert structured is not None
    assert structured["answer"].startswith("# Report: history of the transistor")
    assert "Finding 7 about history of the transistor" in structured["answer"]
    assert len(structured["citations"]) == 3
    # Progress: sent, thinking, writing, complete; the value (characters) only grows.
    messages = [message or "" for _, _, message in progress]
    assert messages[0] == "Asked sonar-deep-research; waiting for the first results"
    assert any(m.startswith("Researching:") for m in messages)
    assert any(m.startswith("Writing the report:") for m in messages)
    assert messages[-1].startswith("Research complete:") and "3 sources" in messages[-1]
    values = [value for value, _, _ in progress]
    assert values == sorted(set(values)) and values[0] == 0
    assert all(total is None for _, total, _ in progress)


async def test_cancelling_research_closes_the_upstream_stream(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    fake.enqueue("/chat/completions", Behaviour(paragraphs=400, chunk_delay=0.02))
    got_content = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if progress > 0:
            got_content.set()

    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        async with anyio.create_task_group() as group:

            async def research() -> None:
                await client.call_tool(
                    "perplexity_research", {"messages": user("a long topic")}, progress_callback=on_progress
                )

            group.start_soon(research)
            with anyio.fail_after(10):
                await got_content.wait()
            group.cancel_scope.cancel()
        cancelled_at = time.monotonic()
        (request,) = fake.to("/chat/completions")
        await anyio.to_thread.run_sync(lambda: fake.wait_until(lambda: request.disconnected, timeout=5))
        # The session is still usable after the cancellation.
        assert not (await client.call_tool("perplexity_ask", {"messages": user("still there?")})).is_error
    assert not request.completed
    assert request.ended is not None and request.ended - cancelled_at < 3
    assert request.frames_sent < 400


async def test_compare_asks_for_a_structured_comparison(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    result = await call(
        gateway,
        era,
        "perplexity_compare",
        {
            "items": ["PostgreSQL", "MySQL", "SQLite"],
            "criteria": ["licensing", "replication"],
            "context": "a small SaaS",
            "model": "sonar-reasoning-pro",
        },
    )
    assert not result.is_error, text_of(result)
    (request,) = fake.to("/chat/completions")
    system, asked = request.body["messages"]
    assert system["role"] == "system" and "markdown table" in system["content"]
    assert asked["content"].startswith("Compare these 3 options:\n- PostgreSQL\n- MySQL\n- SQLite")
    assert "- licensing\n- replication" in asked["content"]
    assert "Context for the comparison: a small SaaS" in asked["content"]
    structured = result.structured_content
    assert structured is not None
    assert structured["items"] == ["PostgreSQL", "MySQL", "SQLite"]
    assert structured["criteria"] == ["licensing", "replication"]
    assert structured["thinking_stripped"] is True
    assert "<think>" not in structured["answer"]  # stripped by default for compare
    assert len(structured["citations"]) == 3


async def test_summarize_a_url_keeps_the_search_on_its_site(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    url = "https://www.example.net/articles/fusion"
    result = await call(
        gateway, era, "perplexity_summarize", {"url": url, "length": "brief", "focus": "costs"}
    )
    assert not result.is_error, text_of(result)
    (request,) = fake.to("/chat/completions")
    assert request.body["model"] == "sonar-pro"
    assert request.body["search_domain_filter"] == ["example.net"]
    prompt = request.body["messages"][-1]["content"]
    assert url in prompt and "in 3 to 5 bullet points" in prompt and "Concentrate on: costs." in prompt
    assert result.structured_content is not None
    assert result.structured_content["source"] == url


async def test_summarize_a_text(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    result = await call(gateway, era, "perplexity_summarize", {"text": "The moon is made of rock."})
    assert not result.is_error, text_of(result)
    prompt = fake.to("/chat/completions")[0].body["messages"][-1]["content"]
    assert "<<<TEXT\nThe moon is made of rock.\nTEXT>>>" in prompt
    assert "search_domain_filter" not in fake.to("/chat/completions")[0].body
    assert result.structured_content is not None
    assert result.structured_content["source"] == "text"


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("perplexity_search", {"query": "x", "max_results": 50}, "argument 'max_results'"),
        ("perplexity_search", {"query": []}, "argument 'query"),
        ("perplexity_search", {"query": "x", "country": "USA"}, "argument 'country'"),
        ("perplexity_ask", {"messages": []}, "argument 'messages'"),
        ("perplexity_ask", {"messages": [{"role": "robot", "content": "x"}]}, "argument 'messages.0.role'"),
        ("perplexity_ask", {"messages": user("x"), "model": "gpt-4"}, "argument 'model'"),
        ("perplexity_research", {"messages": user("x"), "reasoning_effort": "max"}, "'reasoning_effort'"),
        ("perplexity_compare", {"items": ["only one"]}, "argument 'items'"),
        ("perplexity_summarize", {"url": "ftp://example.com"}, "argument 'url'"),
        ("perplexity_summarize", {}, "give 'url' or 'text' (exactly one)"),
        ("perplexity_summarize", {"url": "https://a.b", "text": "t"}, "give 'url' or 'text' (exactly one)"),
        ("perplexity_ask", {"messages": user("x"), "colour": "red"}, "unknown argument 'colour'"),
    ],
)
async def test_invalid_arguments_are_refused_before_any_upstream_call(
    gateway: RunningGateway,
    era: str,
    fake: FakePerplexity,
    configure: Configure,
    tool: str,
    arguments: dict[str, Any],
    expected: str,
) -> None:
    result = await call(gateway, era, tool, arguments)
    assert result.is_error
    assert f"Invalid arguments for tool '{tool}'" in text_of(result)
    assert expected in text_of(result)
    assert fake.requests == []


async def test_a_request_perplexity_rejects_shows_its_message(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    messages = [*user("first"), {"role": "assistant", "content": "an answer"}]
    result = await call(gateway, era, "perplexity_ask", {"messages": messages})
    assert result.is_error
    assert text_of(result) == (
        "Perplexity rejected the request (HTTP 400 Bad Request: Last message must have role `user`. "
        "[invalid_message])."
    )
    assert len(fake.requests) == 1  # a 400 is not retried


async def test_a_bad_key_gets_a_clear_error_without_the_html_page(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    configure(api_key="pplx-wrong-key-42")
    result = await call(gateway, era, "perplexity_ask", {"messages": user("hi")})
    assert result.is_error
    assert text_of(result) == (
        "Perplexity rejected the API key (HTTP 401 Unauthorized: the server sent an HTML page "
        "\"401 Authorization Required\"). Check the 'api_key' setting. "
        "To change it: omni-mcp service set default perplexity api_key=..."
    )
    assert "pplx-wrong-key-42" not in text_of(result)
    assert len(fake.requests) == 1  # a 401 is not retried
    assert fake.requests[0].authorization == "Bearer pplx-wrong-key-42"


async def test_a_missing_key_names_the_setting(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    configure(api_key=None)
    result = await call(gateway, era, "perplexity_search", {"query": "x"})
    assert result.is_error
    assert text_of(result) == (
        "Perplexity is not set up for organization 'default': the 'api_key' setting is missing. "
        "Set it with: omni-mcp service set default perplexity api_key=pplx-..."
    )
    assert fake.requests == []


async def test_rate_limits_are_retried_with_retry_after_capped(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    fake.enqueue("/search", Behaviour(status=429, retry_after="30"), Behaviour(status=429, retry_after="30"))
    started = time.monotonic()
    result = await call(gateway, era, "perplexity_search", {"query": "retry me"})
    assert not result.is_error, text_of(result)
    assert [r.status for r in fake.to("/search")] == [429, 429, 200]
    assert time.monotonic() - started < 2  # Retry-After 30 s was capped by max_retry_wait


async def test_rate_limit_that_persists_is_reported(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    configure(max_retries=1)
    fake.enqueue("/chat/completions", *[Behaviour(status=429, retry_after="7")] * 3)
    result = await call(gateway, era, "perplexity_ask", {"messages": user("hi")})
    assert result.is_error
    assert text_of(result) == (
        "Perplexity's rate limit was reached (HTTP 429 Too Many Requests: Rate limit exceeded. Please try "
        "again later. [rate_limit_exceeded]) (2 attempts). Try again in 7 s."
    )
    assert len(fake.requests) == 2


async def test_server_errors_are_retried_then_reported(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
    fake.enqueue(
        "/search",
        Behaviour(status=503),
        Behaviour(status=500),
        Behaviour(status=502, body=page, content_type="text/html"),
    )
    result = await call(gateway, era, "perplexity_search", {"query": "x"})
    assert result.is_error
    assert text_of(result) == (
        "Perplexity failed (HTTP 502 Bad Gateway: the server sent an HTML page "
        '"502 Bad Gateway") (3 attempts).'
    )


async def test_a_slow_answer_hits_the_timeout_setting_and_is_abandoned(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    configure(timeout=0.5)
    fake.enqueue("/chat/completions", Behaviour(delay=5))
    started = time.monotonic()
    result = await call(gateway, era, "perplexity_ask", {"messages": user("slow")})
    assert result.is_error
    assert text_of(result) == (
        "The Perplexity answer did not finish within 0.5 s (the 'timeout' setting). "
        "To change it: omni-mcp service set default perplexity timeout=..."
    )
    assert time.monotonic() - started < 2.5
    (request,) = fake.to("/chat/completions")
    fake.wait_until(lambda: request.disconnected, timeout=3)


async def test_research_longer_than_the_gateway_allows_explains_the_limit(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    fake.enqueue("/chat/completions", Behaviour(paragraphs=400, chunk_delay=0.02))
    progress: Progress = []
    result = await call(gateway, era, "perplexity_research", {"messages": user("forever")}, progress)
    assert result.is_error
    limit = round(GATEWAY_TOOL_TIMEOUT - GATEWAY_TOOL_TIMEOUT * 0.1, 2)
    assert text_of(result) == (
        f"The Perplexity answer did not finish within {limit:g} s: the gateway stops this call after "
        f"{GATEWAY_TOOL_TIMEOUT:g} s (gateway.tool_timeout). Raise gateway.tool_timeout in the server's "
        "configuration (and the 'research_timeout' setting) to allow longer runs."
    )
    assert len(progress) >= 2  # the client saw it working before the limit
    (request,) = fake.to("/chat/completions")
    fake.wait_until(lambda: request.disconnected, timeout=3)


async def test_a_stream_cut_short_is_an_error_not_a_partial_answer(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    fake.enqueue("/chat/completions", Behaviour(cut_after=4))
    result = await call(gateway, era, "perplexity_research", {"messages": user("cut")})
    assert result.is_error
    assert text_of(result) == (
        "Perplexity's stream ended before the answer was complete (48 characters received)."
    )


@contextlib.contextmanager
def gateway_pointed_at(base_url: str) -> Iterator[RunningGateway]:
    """A gateway whose operator set the plugin's base_url, with the default organization configured."""
    with (
        fresh_database_url() as url,
        serve_in_thread(
            gateway_settings(url, base_url=base_url), [("perplexity", perplexity_plugin)]
        ) as running,
    ):
        running.configure(
            lambda t: t.set_service_settings(
                "default", "perplexity", {**standard_settings(), "max_retries": 1}, actor="test"
            )
        )
        yield running


OPERATOR_HINT = "The gateway's operator sets it: [plugins.settings.perplexity] base_url in its config."


async def test_an_unreachable_base_url_names_the_setting(era: str) -> None:
    with gateway_pointed_at(f"http://127.0.0.1:{free_port()}") as gateway:
        result = await call(gateway, era, "perplexity_ask", {"messages": user("anyone?")})
    assert result.is_error
    text = text_of(result)
    assert text.startswith("Cannot connect to Perplexity at http://127.0.0.1:")
    assert text.endswith(f"Check the 'base_url' setting and the network. {OPERATOR_HINT}")


async def test_a_wrong_base_url_path_names_the_setting(era: str, fake: FakePerplexity) -> None:
    with gateway_pointed_at(fake.url + "/v9") as gateway:
        result = await call(gateway, era, "perplexity_search", {"query": "x"})
    assert result.is_error
    assert text_of(result) == (
        f"There is no Perplexity endpoint /search at {fake.url}/v9 (HTTP 404 Not Found). "
        f"Check the 'base_url' setting. {OPERATOR_HINT}"
    )


async def test_an_organization_cannot_point_the_plugin_at_another_host(
    gateway: RunningGateway, configure: Configure
) -> None:
    with pytest.raises(ConfigError, match="setting 'base_url' of perplexity is the operator's"):
        configure(base_url="https://attacker.example")
    configure(default_model="sonar")  # the organization's own settings still are its own


async def test_results_are_kept_in_the_search_history_resources(
    gateway: RunningGateway, era: str, fake: FakePerplexity, configure: Configure
) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        searched = await client.call_tool("perplexity_search", {"query": f"history {era}", "max_results": 2})
        asked = await client.call_tool("perplexity_ask", {"messages": user(f"question {era}")})
        assert searched.structured_content is not None and asked.structured_content is not None
        listing = json.loads(_text(await client.read_resource("perplexity://searches")))
        one = json.loads(_text(await client.read_resource(asked.structured_content["stored_as"])))
        knowledge = _text(await client.read_resource("perplexity://knowledge-base"))
        guide = _text(await client.read_resource("perplexity://guide"))
        with pytest.raises(MCPError, match="Resource not found: perplexity://searches/0123"):
            await client.read_resource("perplexity://searches/0123")
        with pytest.raises(MCPError, match="Resource not found"):
            await client.read_resource("perplexity://searches/" + "f" * 32)
    newest = listing["searches"][:2]
    assert [entry["uri"] for entry in newest] == [
        asked.structured_content["stored_as"],
        searched.structured_content["stored_as"],
    ]
    assert newest[0]["tool"] == "ask" and newest[0]["query"] == f"question {era}"
    assert newest[1]["tool"] == "search" and newest[1]["results"] == 2
    assert one["answer"] == asked.structured_content["answer"]
    assert one["citations"] == asked.structured_content["citations"]
    assert f"question {era}" in knowledge
    assert f"https://example.com/{slug(f'history {era}')}/1" in knowledge
    assert "## Sources, most used first" in knowledge
    assert "perplexity_research" in guide


async def test_prompts_render_with_their_arguments(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        research = await client.get_prompt("perplexity_research_workflow", {"topic": "quantum dots"})
        analysis = await client.get_prompt(
            "perplexity_analysis", {"subject": "remote work", "question": "Does it raise output?"}
        )
        with pytest.raises(MCPError, match="missing required argument 'topic'"):
            await client.get_prompt("perplexity_research_workflow", {})
    research_text = research.messages[0].content
    assert isinstance(research_text, types.TextContent)
    assert research_text.text.startswith("Research this topic thoroughly: quantum dots\n")
    assert "perplexity_search" in research_text.text
    analysis_text = analysis.messages[0].content
    assert isinstance(analysis_text, types.TextContent)
    assert "Question to answer: Does it raise output?" in analysis_text.text


def _text(result: types.ReadResourceResult) -> str:
    content = result.contents[0]
    assert isinstance(content, types.TextResourceContents)
    return content.text


async def test_resources_and_prompts_are_namespaced_and_complete(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        names = {r.name for r in (await client.list_resources()).resources}
        templates = {t.name for t in (await client.list_resource_templates()).resource_templates}
        fact_check = await client.get_prompt("perplexity_fact_check", {"claim": "water is wet"})
        analysis = await client.get_prompt("perplexity_analysis", {"subject": "tabs vs spaces"})
    assert templates == {"perplexity_search"}
    assert names >= {"perplexity_searches", "perplexity_knowledge_base", "perplexity_guide"}
    assert all(name.startswith("perplexity_") for name in names | templates)
    assert "Context in which it was made: not given" in fact_check.messages[0].content.text  # type: ignore[union-attr]
    for line in analysis.messages[0].content.text.splitlines()[:3]:  # type: ignore[union-attr]
        assert not line.rstrip().endswith(":"), line
