"""Decorators that declare a prompt or a resource from a function, its arguments read from its signature.

    @prompt()
    def review(code: str, language: str = "python") -> str:
        "Review a piece of code."
        return f"Review this {language}: {code}"

Each parameter but a CallContext one is a prompt argument (required when it has no default); a
resource template's parameters must be exactly its URI template's variables. Descriptions come from
`Annotated[str, "what it is"]` (or a pydantic `Field(description=...)`) and the docstring.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from pydantic.fields import FieldInfo

from omni_mcp.capabilities.prompts import Completer, Prompt, PromptArgument
from omni_mcp.capabilities.resources import Resource, ResourceTemplate
from omni_mcp.context import CallContext


def prompt(
    name: str | None = None,
    *,
    description: str | None = None,
    title: str | None = None,
    complete: Completer | None = None,
) -> Callable[[Callable[..., Any]], Prompt]:
    """Turn a render function into a Prompt named after it (or `name`)."""

    def declare(fn: Callable[..., Any]) -> Prompt:
        arguments = tuple(
            PromptArgument(
                name=param,
                description=described,
                required=default is inspect.Parameter.empty,
                default="" if default in (inspect.Parameter.empty, None) else str(default),
            )
            for param, default, described in _parameters(fn)
        )
        return Prompt(
            name=name or fn.__name__,
            description=description if description is not None else _docstring(fn),
            arguments=arguments,
            render=fn,
            title=title,
            complete=complete,
        )

    return declare


def resource(
    uri: str,
    *,
    name: str | None = None,
    description: str | None = None,
    mime_type: str = "text/plain",
    title: str | None = None,
) -> Callable[[Callable[..., Any]], Resource]:
    """Turn a reader taking no arguments (but perhaps a CallContext) into a Resource at `uri`."""

    def declare(fn: Callable[..., Any]) -> Resource:
        extra = [param for param, _default, _described in _parameters(fn)]
        if extra:
            raise TypeError(f"resource {uri!r}: {fn.__qualname__} may take only a CallContext, not {extra}")
        return Resource(
            uri=uri,
            name=name or fn.__name__,
            description=description if description is not None else _docstring(fn),
            mime_type=mime_type,
            read=fn,
            title=title,
        )

    return declare


def resource_template(
    uri_template: str,
    *,
    name: str | None = None,
    description: str | None = None,
    mime_type: str = "text/plain",
    title: str | None = None,
    complete: Completer | None = None,
) -> Callable[[Callable[..., Any]], ResourceTemplate]:
    """Turn a reader into a ResourceTemplate; its parameters are the template's variables."""

    def declare(fn: Callable[..., Any]) -> ResourceTemplate:
        template = ResourceTemplate(
            uri_template=uri_template,
            name=name or fn.__name__,
            read=fn,
            description=description if description is not None else _docstring(fn),
            mime_type=mime_type,
            title=title,
            complete=complete,
        )
        params = {param for param, _default, _described in _parameters(fn)}
        variables = set(template.parsed.variable_names)
        if params != variables:
            raise TypeError(
                f"resource template {uri_template!r}: {fn.__qualname__} takes {sorted(params)}, "
                f"the template's variables are {sorted(variables)}"
            )
        return template

    return declare


def _parameters(fn: Callable[..., Any]) -> list[tuple[str, Any, str]]:
    """(name, default, description) of each parameter but the CallContext one."""
    hints = typing.get_type_hints(fn, include_extras=True)
    found = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{fn.__qualname__}: *args/**kwargs cannot be declared as arguments")
        hint = hints.get(param.name)
        if hint is CallContext:
            continue
        found.append((param.name, param.default, _description(hint)))
    return found


def _description(hint: Any) -> str:
    for extra in getattr(hint, "__metadata__", ()):
        if isinstance(extra, str):
            return extra
        if isinstance(extra, FieldInfo) and extra.description:
            return extra.description
    return ""


def _docstring(fn: Callable[..., Any]) -> str:
    return inspect.cleandoc(fn.__doc__) if fn.__doc__ else ""
