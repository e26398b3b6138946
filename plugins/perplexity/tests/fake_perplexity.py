"""A fake Perplexity API on 127.0.0.1: the real request and response shapes, for tests.

`POST /chat/completions` answers whole or as Server-Sent Events (`data: {json}` frames, each repeating
id/usage/citations, incremental `delta.content`, a last chunk with `finish_reason: "stop"`, then
`data: [DONE]`); reasoning and deep-research models put a `<think>` block first. `POST /search` returns
ranked results. Bad keys get the HTML 401 page Perplexity's proxy sends; bad bodies get 400 JSON errors.

Tests script the next responses per path with `enqueue(path, Behaviour(...))`: errors (429 with
Retry-After, 5xx), delays, slow or cut-off streams. Every request is recorded with its headers and body,
and whether the client went away before the response ended.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn

from omni_mcp.testing import free_port

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

VALID_KEY = "pplx-test-key-0123456789"
CHAT_MODELS = ("sonar", "sonar-pro", "sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research")
THINKING_MODELS = ("sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research")

HTML_401 = """<html>
<head><title>401 Authorization Required</title></head>
<body>
<center><h1>401 Authorization Required</h1></center>
<hr><center>openresty/1.25.3.1</center>
</body>
</html>
"""


@dataclass
class Behaviour:
    """How to answer one request. The defaults give a normal, quick answer."""

    status: int = 200
    body: str | None = None
    """Raw body to answer with (for an error status, the default is Perplexity's JSON error shape)."""
    content_type: str = "application/json"
    retry_after: str | None = None
    delay: float = 0.0
    """Seconds to wait before the response starts (longer than the client's timeout: a hang)."""
    chunk_delay: float = 0.005
    """Seconds between stream frames."""
    paragraphs: int | None = None
    """Deep research: write this many paragraphs (a long stream) instead of the usual four."""
    cut_after: int | None = None
    """Drop the stream after this many frames, before the last chunk."""
    send_done: bool = True


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int | None = None
    streamed: bool = False
    frames_sent: int = 0
    completed: bool = False
    """The whole response went out."""
    disconnected: bool = False
    """The client went away before the response was complete."""
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class FakePerplexity:
    """The ASGI application. Thread-safe enough for tests: the server thread writes, tests read."""

    def __init__(self) -> None:
        self.url = ""
        self.keys = {VALID_KEY}
        self.requests: list[Recorded] = []
        self._scripts: dict[str, deque[Behaviour]] = {}

    def reset(self) -> None:
        self.keys = {VALID_KEY}
        self.requests = []
        self._scripts = {}

    def enqueue(self, path: str, *behaviours: Behaviour) -> None:
        """The next requests to `path` get these behaviours, in order; later ones answer normally."""
        self._scripts.setdefault(path, deque()).extend(behaviours)

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the fake Perplexity never saw the expected state")
            time.sleep(0.02)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(scope["method"], scope["path"], headers, body)
        self.requests.append(record)
        await Exchange(self, record, receive, send).run()

    def next_behaviour(self, path: str) -> Behaviour:
        queue = self._scripts.get(path)
        return queue.popleft() if queue else Behaviour()


class Exchange:
    """One request: watches for the client going away while the answer is produced."""

    def __init__(self, fake: FakePerplexity, record: Recorded, receive: Receive, send: Send) -> None:
        self.fake = fake
        self.record = record
        self.receive = receive
        self.send = send

    async def run(self) -> None:
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while True:
                    message = await self.receive()
                    if message["type"] == "http.disconnect":
                        if not self.record.completed:
                            self.record.disconnected = True
                        group.cancel_scope.cancel()
                        return

            group.start_soon(watch)
            try:
                await self.answer()
            finally:
                self.record.ended = time.monotonic()
                group.cancel_scope.cancel()

    async def answer(self) -> None:
        record = self.record
        if record.method != "POST":
            return await self.json(405, {"detail": "Method Not Allowed"})
        if record.path not in ("/chat/completions", "/search"):
            return await self.json(404, {"detail": "Not Found"})
        key = (record.authorization or "").removeprefix("Bearer ")
        if key not in self.fake.keys:
            return await self.reply(401, HTML_401.encode(), "text/html")
        if not isinstance(record.body, dict):
            return await self.error(400, "Request body must be a JSON object.", "invalid_request_error")
        behaviour = self.fake.next_behaviour(record.path)
        if behaviour.delay:
            await anyio.sleep(behaviour.delay)
        if behaviour.status != 200 or behaviour.body is not None:
            return await self.scripted(behaviour)
        if record.path == "/search":
            return await self.search(record.body)
        return await self.chat(record.body, behaviour)

    async def search(self, body: dict[str, Any]) -> None:
        query = body.get("query")
        queries = query if isinstance(query, list) else [query]
        if not queries or not all(isinstance(q, str) and q for q in queries) or len(queries) > 5:
            return await self.error(
                400, "query must be a non-empty string or a list of 1-5 strings", "invalid"
            )
        count = body.get("max_results", 10)
        if not isinstance(count, int) or not 1 <= count <= 20:
            return await self.error(400, "max_results must be between 1 and 20", "invalid_parameter")
        per_query = [search_results(str(q), count) for q in queries]
        results: list[Any] = per_query[0] if isinstance(query, str) else per_query
        await self.json(200, {"id": str(uuid.uuid4()), "results": results})

    async def chat(self, body: dict[str, Any], behaviour: Behaviour) -> None:
        model = body.get("model")
        if model not in CHAT_MODELS:
            return await self.error(
                400,
                f"Invalid model '{model}'. Permitted models can be found in the documentation at "
                "https://docs.perplexity.ai/guides/model-cards.",
                "invalid_model",
            )
        problem = message_problem(body.get("messages"))
        if problem:
            return await self.error(400, problem, "invalid_message")
        question = body["messages"][-1]["content"]
        answer = chat_answer(str(model), question, behaviour.paragraphs)
        if not body.get("stream"):
            whole = completion(answer, str(model), question)
            if body.get("return_related_questions"):
                whole["related_questions"] = [f"Why {question}?", f"When {question}?"]
            return await self.json(200, whole)
        await self.stream(answer, str(model), question, behaviour)

    async def stream(self, answer: str, model: str, question: str, behaviour: Behaviour) -> None:
        self.record.streamed = True
        self.record.status = 200
        await self.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        size = 12
        pieces = [answer[i : i + size] for i in range(0, len(answer), size)]
        base = completion(answer, model, question)
        sent = ""
        frames = []
        for piece in pieces:
            sent += piece
            frames.append(chunk(base, sent, piece, None))
        frames.append(chunk(base, sent, "", "stop"))
        for number, frame in enumerate(frames, 1):
            if behaviour.cut_after is not None and number > behaviour.cut_after:
                break  # the connection ends without the last chunk
            await anyio.sleep(behaviour.chunk_delay)
            await self.body(f"data: {json.dumps(frame)}\n\n".encode())
            self.record.frames_sent += 1
        else:
            if behaviour.send_done:
                await self.body(b"data: [DONE]\n\n")
        await self.body(b"", more=False)
        self.record.completed = True

    async def scripted(self, behaviour: Behaviour) -> None:
        extra = [(b"retry-after", behaviour.retry_after.encode())] if behaviour.retry_after else []
        if behaviour.body is not None:
            return await self.reply(behaviour.status, behaviour.body.encode(), behaviour.content_type, extra)
        message, kind = {
            429: ("Rate limit exceeded. Please try again later.", "rate_limit_exceeded"),
            500: ("Internal server error", "server_error"),
            503: ("The server is overloaded. Please try again later.", "service_unavailable"),
        }.get(behaviour.status, ("Request failed", "error"))
        body = {"error": {"message": message, "type": kind, "code": behaviour.status}}
        await self.reply(behaviour.status, json.dumps(body).encode(), "application/json", extra)

    async def error(self, status: int, message: str, kind: str) -> None:
        await self.json(status, {"error": {"message": message, "type": kind, "code": status}})

    async def json(self, status: int, data: Any) -> None:
        await self.reply(status, json.dumps(data).encode(), "application/json")

    async def reply(
        self, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.record.status = status
        headers = [(b"content-type", content_type.encode()), *(extra or [])]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.body(body, more=False)
        self.record.completed = True

    async def body(self, data: bytes, more: bool = True) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})


def message_problem(messages: Any) -> str | None:
    """Perplexity's rule: optional system messages, then user/assistant alternating, ending with user."""
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    roles = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return "each message needs a role and string content"
        roles.append(message.get("role"))
    turns = roles[next((i for i, r in enumerate(roles) if r != "system"), len(roles)) :]
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(turns))]
    if turns != expected:
        return "After the (optional) system message(s), user and assistant roles should be alternating."
    if not turns or turns[-1] != "user":
        return "Last message must have role `user`."
    return None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "q"


def citations_for(question: str) -> list[str]:
    return [f"https://example.org/{slug(question)}/{n}" for n in (1, 2, 3)]


def search_results(query: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "title": f"{query} - result {n}",
            "url": f"https://example.com/{slug(query)}/{n}",
            "snippet": f"Snippet {n} about {query}.",
            "date": f"2025-03-{n:02d}",
            "last_updated": f"2025-04-{n:02d}",
        }
        for n in range(1, count + 1)
    ]


def chat_answer(model: str, question: str, paragraphs: int | None) -> str:
    thinking = f"<think>\nThe user asks: {question}. Let me check the sources.\n</think>\n"
    if model == "sonar-deep-research":
        body = "".join(
            f"Finding {n} about {question} is supported by source [{n % 3 + 1}].\n\n"
            for n in range(paragraphs or 4)
        )
        return f"{thinking}# Report: {question}\n\n{body}Conclusion: well sourced [1][2][3]."
    answer = f"Answer to: {question} [1][2]. Answered by {model} [3]."
    return thinking + answer if model in THINKING_MODELS else answer


def completion(answer: str, model: str, question: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "model": model,
        "created": int(time.time()),
        "object": "chat.completion",
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": len(answer) // 4,
            "total_tokens": 12 + len(answer) // 4,
            "search_context_size": "low",
            "cost": {
                "input_tokens_cost": 0.0,
                "output_tokens_cost": 0.001,
                "request_cost": 0.005,
                "total_cost": 0.006,
            },
        },
        "citations": citations_for(question),
        "search_results": [
            {
                "title": f"Source {n} on {question[:40]}",
                "url": url,
                "date": f"2025-01-{n:02d}",
                "last_updated": f"2025-02-{n:02d}",
                "snippet": f"Snippet {n}.",
            }
            for n, url in enumerate(citations_for(question), 1)
        ],
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer},
                "delta": {"role": "assistant", "content": ""},
            }
        ],
    }


def chunk(base: dict[str, Any], sent: str, piece: str, finish: str | None) -> dict[str, Any]:
    """A stream chunk as Perplexity sends it: the whole envelope again, with the new piece as delta."""
    return {
        **base,
        "object": "chat.completion.chunk",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": sent},
                "delta": {"role": "assistant", "content": piece},
            }
        ],
    }


@contextlib.contextmanager
def running_fake() -> Iterator[FakePerplexity]:
    """Serve a FakePerplexity on 127.0.0.1 under uvicorn in a background thread."""
    fake = FakePerplexity()
    port = free_port()
    config = uvicorn.Config(fake, host="127.0.0.1", port=port, log_config=None, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"fake-perplexity-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake Perplexity server did not start")
        time.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
