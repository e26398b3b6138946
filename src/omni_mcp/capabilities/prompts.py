"""Prompts as plugins declare them: a text template with declared arguments, or a render function."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mcp.types as types

from omni_mcp.capabilities.signatures import ArgumentsError

Completer = Callable[..., Any]
"""`(argument_name, partial_value, context_arguments) -> list[str]`, sync or async; a parameter typed
CallContext, if it has one, receives the caller's context (organization, settings, store) by keyword."""

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class PromptArgument:
    name: str
    description: str = ""
    required: bool = False
    default: str = ""
    """Rendered in place of an optional argument the caller left out or blank (not a blank gap)."""


@dataclass(frozen=True)
class Prompt:
    """A prompt. Give `template` (``{argument}`` placeholders, ``{{``/``}}`` for braces) or `render`.

    `render` may take a CallContext parameter and receives the arguments as keywords; it returns a
    string (one user message), a list of PromptMessage, or a GetPromptResult.
    """

    name: str
    description: str = ""
    arguments: tuple[PromptArgument, ...] = ()
    template: str | None = None
    render: Callable[..., Any] | None = None
    title: str | None = None
    complete: Completer | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.template is None) == (self.render is None):
            raise ValueError(f"prompt {self.name!r} needs exactly one of template= or render=")
        if self.template is not None:
            unknown = template_placeholders(self.template) - {a.name for a in self.arguments}
            if unknown:
                raise ValueError(
                    f"prompt {self.name!r} template uses undeclared arguments: {sorted(unknown)}"
                )

    def to_mcp(self) -> types.Prompt:
        return types.Prompt(
            name=self.name,
            title=self.title,
            description=self.description or None,
            arguments=[
                types.PromptArgument(name=a.name, description=a.description or None, required=a.required)
                for a in self.arguments
            ],
        )

    def check_arguments(self, arguments: Mapping[str, str] | None) -> dict[str, str]:
        """The arguments to render with; a missing required or unknown argument is an ArgumentsError."""
        given = dict(arguments or {})
        declared = {a.name for a in self.arguments}
        problems = [
            f"missing required argument '{a.name}'"
            for a in self.arguments
            if a.required and not given.get(a.name)
        ]
        problems += [f"unknown argument '{name}'" for name in given if name not in declared]
        if problems:
            raise ArgumentsError(f"prompt '{self.name}': " + "; ".join(problems))
        return {a.name: given.get(a.name) or a.default for a in self.arguments}


def template_placeholders(template: str) -> set[str]:
    return {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)}


class RenderTooLarge(ValueError):
    """The rendered text would be longer than allowed; found before any of it is built."""


def render_template(template: str, arguments: Mapping[str, str], max_chars: int | None = None) -> str:
    """Substitute ``{name}`` placeholders by plain text replacement: no format specs, no attribute access.

    With `max_chars`, the length is counted first, so one long argument used many times cannot make the
    server build a huge string (a RenderTooLarge says how long it would have been).
    """
    if max_chars is not None:
        size = rendered_length(template, arguments)
        if size > max_chars:
            raise RenderTooLarge(f"it would render {size} characters, more than the limit of {max_chars}")

    def substitute(match: re.Match[str]) -> str:
        matched = match.group(0)
        if matched == "{{":
            return "{"
        if matched == "}}":
            return "}"
        return str(arguments.get(match.group(1), ""))

    return _PLACEHOLDER.sub(substitute, template)


def rendered_length(template: str, arguments: Mapping[str, str]) -> int:
    """How long `render_template(template, arguments)` would be, without rendering it."""
    size = len(template)
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        size += (len(str(arguments.get(name, ""))) if name else 1) - len(match.group(0))
    return size


def to_prompt_result(prompt: Prompt, value: Any) -> types.GetPromptResult | types.InputRequiredResult:
    """Normalise what a render function (or template) produced."""
    if isinstance(value, types.GetPromptResult | types.InputRequiredResult):
        return value
    if isinstance(value, str):
        value = [types.PromptMessage(role="user", content=types.TextContent(text=value))]
    if isinstance(value, types.PromptMessage):
        value = [value]
    if isinstance(value, list) and all(isinstance(m, types.PromptMessage) for m in value):
        return types.GetPromptResult(description=prompt.description or None, messages=value)
    raise TypeError(
        f"prompt {prompt.name!r} rendered {type(value).__name__}, expected str or PromptMessage list"
    )
