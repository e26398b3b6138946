"""The client on its own against the fake API, and the pure pieces it is built from."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fake_perplexity import VALID_KEY, Behaviour, FakePerplexity
from hypothesis import given
from hypothesis import strategies as st
from omni_mcp_perplexity.client import (
    Deadline,
    PerplexityClient,
    PerplexityError,
    RetryPolicy,
    error_detail,
)
from omni_mcp_perplexity.models import StreamAssembler, strip_thinking
from omni_mcp_perplexity.sse import SseEvent, SseParser

from omni_mcp.testing import free_port

FAST = RetryPolicy(max_retries=2, backoff=0.01, max_wait=0.05)
SOON = Deadline(5.0, "timeout")


def client_for(fake: FakePerplexity) -> PerplexityClient:
    return PerplexityClient(api_key=VALID_KEY, base_url=fake.url, retry=FAST)


def parse(*chunks: str) -> list[SseEvent]:
    parser = SseParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + list(parser.close())


# SSE frames


def test_sse_frames_comments_and_fields() -> None:
    stream = (
        ': keep-alive\n\ndata: {"a": 1}\n\nevent: note\nid: 7\ndata: line one\ndata: line two\n\n'
        "data: [DONE]\n\n"
    )
    assert parse(stream) == [
        SseEvent('{"a": 1}'),
        SseEvent("line one\nline two", event="note", id="7"),
        SseEvent("[DONE]", id="7"),
    ]


def test_sse_line_endings_and_a_missing_last_blank_line() -> None:
    assert parse("data: a\r\n\r\ndata: b\r\rdata:c") == [SseEvent("a"), SseEvent("b"), SseEvent("c")]
    assert parse("data: a\r", "\n\r\n") == [SseEvent("a")]
    assert parse("data: x\r") == [SseEvent("x")]
    assert parse("data\n\n") == [SseEvent("")]


FRAMES = st.lists(
    st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=30),
    min_size=1,
    max_size=6,
)


@given(
    frames=FRAMES,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_sse_events_do_not_depend_on_how_the_stream_is_chunked(
    frames: list[str], newline: str, cuts: list[int]
) -> None:
    stream = "".join(f"data: {frame}{newline}{newline}" for frame in frames)
    points = sorted({min(cut, len(stream)) for cut in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert [event.data for event in parse(*pieces)] == frames


# Pure helpers


def test_strip_thinking() -> None:
    assert strip_thinking("<think>\nplan\n</think>\nAnswer [1].") == "Answer [1]."
    assert strip_thinking("A <think>x</think>B<think>y</think> C") == "A B C"
    assert strip_thinking("Start.<think>cut off mid-thought") == "Start."
    assert strip_thinking("no thinking here") == "no thinking here"


def test_stream_phase_follows_think_tags_split_across_chunks() -> None:
    assembler = StreamAssembler()
    phases = []
    for piece in ["<thi", "nk>plan", "ning</th", "ink>", "Report"]:
        assembler.add({"choices": [{"delta": {"content": piece}}]})
        phases.append(assembler.phase)
    assert phases == ["waiting", "thinking", "thinking", "writing", "writing"]
    assert assembler.result().content == "<think>planning</think>Report"


def test_retry_policy_backs_off_exponentially_and_caps_every_wait() -> None:
    policy = RetryPolicy(max_retries=5, backoff=1.0, max_wait=5.0)
    assert [policy.wait(n, None) for n in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.wait(0, 120.0) == 5.0
    assert policy.wait(0, 0.5) == 0.5


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            '{"error": {"message": "Bad thing", "type": "invalid", "code": 400}}',
            "application/json",
            "Bad thing [invalid]",
        ),
        ('{"detail": "Not Found"}', "application/json", "Not Found"),
        (
            "<html><title> 401\n Authorization Required </title></html>",
            "text/html",
            'the server sent an HTML page "401 Authorization Required"',
        ),
        ("<html><body>nothing</body></html>", "text/html", "the server sent an HTML page"),
        ("plain  words\n here", "text/plain", "plain words here"),
        ("x" * 400, "text/plain", "x" * 299 + "…"),
        ("", "text/plain", ""),
    ],
)
def test_error_detail(body: str, content_type: str, expected: str) -> None:
    response = httpx.Response(400, content=body.encode(), headers={"content-type": content_type})
    assert error_detail(response) == expected


# The client against the fake API


@pytest.mark.anyio
async def test_connection_failures_are_retried_then_reported() -> None:
    notices: list[str] = []
    client = PerplexityClient(
        api_key=VALID_KEY, base_url=f"http://127.0.0.1:{free_port()}", retry=FAST, notice=notices.append
    )
    with pytest.raises(PerplexityError, match="^Cannot connect to Perplexity at http://127.0.0.1") as caught:
        await client.search({"query": "x"}, SOON)
    assert caught.value.setting == "base_url"
    assert len(notices) == 2 and all("retrying in" in n for n in notices)


@pytest.mark.anyio
async def test_retries_stop_when_the_deadline_would_pass(fake: FakePerplexity) -> None:
    client = PerplexityClient(
        api_key=VALID_KEY, base_url=fake.url, retry=RetryPolicy(max_retries=5, backoff=10, max_wait=10)
    )
    fake.enqueue("/search", Behaviour(status=503))
    started = time.monotonic()
    with pytest.raises(PerplexityError, match=r"^Perplexity failed \(HTTP 503"):
        await client.search({"query": "x"}, Deadline(2.0, "timeout"))
    assert time.monotonic() - started < 1  # it did not sleep 10 s into a 2 s deadline
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_a_non_json_answer_points_at_the_base_url(fake: FakePerplexity) -> None:
    fake.enqueue("/chat/completions", Behaviour(body="<html>a login page</html>", content_type="text/html"))
    with pytest.raises(PerplexityError, match=r"not JSON \(HTTP 200, text/html\)") as caught:
        await client_for(fake).chat({"model": "sonar", "messages": [{"role": "user", "content": "q"}]}, SOON)
    assert caught.value.setting == "base_url"


@pytest.mark.anyio
async def test_a_json_answer_to_a_stream_request_is_accepted(fake: FakePerplexity) -> None:
    whole = {
        "id": "x",
        "model": "sonar",
        "choices": [{"message": {"content": "whole answer"}}],
        "citations": ["u"],
    }
    fake.enqueue("/chat/completions", Behaviour(body=json.dumps(whole)))
    completion = await client_for(fake).stream_chat(
        {"model": "sonar", "messages": [{"role": "user", "content": "q"}]}, SOON
    )
    assert completion.content == "whole answer" and completion.citations == ["u"]


@pytest.mark.anyio
async def test_a_stream_without_done_ends_at_the_stop_chunk(fake: FakePerplexity) -> None:
    fake.enqueue("/chat/completions", Behaviour(send_done=False))
    seen: list[int] = []

    async def on_chunk(stream: StreamAssembler) -> None:
        seen.append(stream.length)

    completion = await client_for(fake).stream_chat(
        {"model": "sonar", "messages": [{"role": "user", "content": "q"}]}, SOON, on_chunk
    )
    assert completion.content == "Answer to: q [1][2]. Answered by sonar [3]."
    assert completion.finish_reason == "stop"
    assert seen == sorted(seen) and seen[-1] == len(completion.content)


@pytest.mark.anyio
async def test_the_key_never_appears_in_an_error(fake: FakePerplexity) -> None:
    echo = json.dumps({"error": {"message": f"key {VALID_KEY} is not allowed this model", "type": "denied"}})
    fake.enqueue("/chat/completions", Behaviour(status=403, body=echo))
    with pytest.raises(PerplexityError) as caught:
        await client_for(fake).chat({"model": "sonar", "messages": [{"role": "user", "content": "q"}]}, SOON)
    assert VALID_KEY not in str(caught.value)
    assert "key [redacted] is not allowed this model" in str(caught.value)
    assert caught.value.setting == "api_key"


def test_deadline_messages() -> None:
    own = Deadline(30, "timeout").expired("The Perplexity search")
    assert str(own) == "The Perplexity search did not finish within 30 s (the 'timeout' setting)."
    assert own.setting == "timeout"
    gateway = Deadline(54, "research_timeout", gateway_limit=60).expired("X")
    assert "the gateway stops this call after 60 s (gateway.tool_timeout)" in str(gateway)
    assert gateway.setting is None
