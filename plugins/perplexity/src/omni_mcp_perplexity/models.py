"""Shapes on both sides: tool arguments, Perplexity's responses (parsed leniently) and tool results."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


class Message(BaseModel):
    """One chat message. Perplexity expects system messages first, then turns ending with a user one."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"] = Field(description="Who wrote the message")
    content: str = Field(min_length=1, description="The message text")


class SearchHit(BaseModel):
    """A web page Perplexity found: `search_results` of an answer, or `results` of the Search API."""

    model_config = ConfigDict(extra="ignore")

    title: str = ""
    url: str
    snippet: str | None = None
    date: str | None = None
    last_updated: str | None = None


class Completion(BaseModel):
    """A chat completion as one object, whether it came whole or assembled from a stream."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    model: str | None = None
    created: int | None = None
    content: str = ""
    finish_reason: str | None = None
    citations: list[str] = Field(default_factory=list)
    search_results: list[SearchHit] = Field(default_factory=list)
    related_questions: list[str] = Field(default_factory=list)
    usage: dict[str, Any] | None = None


class Answer(BaseModel):
    """What ask, reason and research return as structured content."""

    id: str | None = Field(None, description="Perplexity's id of the completion")
    model: str | None = Field(None, description="The model that answered")
    answer: str = Field(description="The answer text, with [n] markers referring to citations")
    citations: list[str] = Field(default_factory=list, description="Source URLs; [1] is the first")
    search_results: list[SearchHit] = Field(default_factory=list, description="Pages the answer drew on")
    related_questions: list[str] = Field(default_factory=list)
    usage: dict[str, Any] | None = Field(None, description="Token counts and cost as Perplexity reported")
    thinking_stripped: bool = Field(False, description="Whether <think> blocks were removed from the answer")
    stored_as: str | None = Field(None, description="Resource URI of this result in the search history")


class CompareAnswer(Answer):
    items: list[str] = Field(description="What was compared")
    criteria: list[str] = Field(default_factory=list, description="Criteria asked for, if any")


class SummaryAnswer(Answer):
    source: str = Field(description="The summarized URL, or 'text' for text given in the call")


class SearchOutput(BaseModel):
    """What search returns as structured content."""

    id: str | None = Field(None, description="Perplexity's id of the search")
    query: str | list[str]
    results: list[SearchHit] = Field(default_factory=list)
    stored_as: str | None = Field(None, description="Resource URI of this result in the search history")


def strip_thinking(text: str) -> str:
    """Remove <think>...</think> blocks, and an unterminated one (a cut-off stream) to the end."""
    text = _THINK_BLOCK.sub("", text)
    unterminated = text.find("<think>")
    if unterminated != -1:
        text = text[:unterminated]
    return text.strip()


def completion_from_json(data: Any) -> Completion:
    """A non-streamed response body: the answer is choices[0].message.content."""
    if not isinstance(data, dict):
        raise ValueError("the body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("it has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        raise ValueError("choices[0].message.content is missing")
    return Completion.model_validate(
        {**data, "content": message["content"], "finish_reason": choices[0].get("finish_reason")}
    )


class StreamAssembler:
    """Folds streamed chunks into one Completion: deltas concatenate, repeated fields keep the latest."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.fields: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.phase: Literal["waiting", "thinking", "writing"] = "waiting"
        self._tail = ""

    def add(self, chunk: Any) -> str:
        """Take one parsed `data:` payload; return the content it added."""
        if not isinstance(chunk, dict):
            raise ValueError("a stream chunk is not a JSON object")
        for key in ("id", "model", "created", "citations", "search_results", "related_questions", "usage"):
            if chunk.get(key) is not None:
                self.fields[key] = chunk[key]
        added = ""
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            delta = choices[0].get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                added = delta["content"]
            if choices[0].get("finish_reason"):
                self.finish_reason = str(choices[0]["finish_reason"])
        if added:
            self.parts.append(added)
            self.length += len(added)
            self._follow_phase(added)
        return added

    def _follow_phase(self, added: str) -> None:
        """Inside a <think> block or past it; tags may be split across chunks, hence the tail."""
        window = self._tail + added
        opened, closed = window.rfind("<think>"), window.rfind("</think>")
        if opened > closed:
            self.phase = "thinking"
        elif closed > opened:
            self.phase = "writing"
        elif self.phase == "waiting" and window.strip() and not "<think>".startswith(window.strip()):
            self.phase = "writing"  # content that is not (the start of) a think block
        self._tail = window[-len("</think>") :]

    @property
    def content(self) -> str:
        return "".join(self.parts)

    def result(self) -> Completion:
        return Completion.model_validate(
            {**self.fields, "content": self.content, "finish_reason": self.finish_reason}
        )
