"""Tools as plugins declare them: a namespaced group of decorated functions."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

import mcp.types as types
from pydantic import BaseModel

from omni_mcp.capabilities.signatures import (
    HandlerSignature,
    SchemaSignature,
    inspect_handler,
    schema_handler,
)
from omni_mcp.redaction import redact_secrets

MAX_TOOL_NAME_LENGTH = 64
NAMESPACE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
TaskSupport = Literal["forbidden", "optional", "required"]
LOCAL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")

F = TypeVar("F", bound=Callable[..., Any])


class ToolError(Exception):
    """Raise from a tool to fail the call with this message shown to the client as is."""


@dataclass
class ToolResult:
    """Readable text for the model plus optional structured content and extra content blocks."""

    text: str | None = None
    structured: dict[str, Any] | None = None
    content: list[types.ContentBlock] = field(default_factory=list)
    is_error: bool = False


@dataclass(frozen=True)
class ToolDefinition:
    """One tool of a group, with everything the router needs to list, validate and call it."""

    namespace: str
    local_name: str
    description: str
    handler: Callable[..., Any]
    signature: HandlerSignature | SchemaSignature
    title: str | None = None
    annotations: types.ToolAnnotations | None = None
    output_schema: dict[str, Any] | None = None
    permission: str | None = None
    """A permission needed to see and call this tool, beyond tools:call (e.g. "services:manage")."""
    task_support: TaskSupport | None = None
    """`execution.taskSupport`: whether a client may (optional) or must (required) run the call as a task."""

    @property
    def name(self) -> str:
        return f"{self.namespace}_{self.local_name}"

    def to_mcp(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.signature.json_schema(),
            output_schema=self.output_schema,
            annotations=self.annotations,
            execution=types.ToolExecution(task_support=self.task_support) if self.task_support else None,
        )


class ToolGroup:
    """A namespace of tools. Tool names are exposed as ``<namespace>_<name>``.

    >>> group = ToolGroup("weather")
    >>> @group.tool
    ... async def forecast(city: str, days: int = 3) -> str:
    ...     '''Forecast for a city.'''
    ...     return f"sunny in {city} for {days} days"
    """

    def __init__(self, namespace: str, *, description: str = "") -> None:
        if not NAMESPACE_PATTERN.match(namespace):
            raise ValueError(f"tool namespace {namespace!r} must be lowercase letters/digits (and '-')")
        self.namespace = namespace
        self.description = description
        self._tools: dict[str, ToolDefinition] = {}

    @property
    def tools(self) -> list[ToolDefinition]:
        return list(self._tools.values())

    @overload
    def tool(self, fn: F) -> F: ...

    @overload
    def tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        title: str | None = None,
        annotations: types.ToolAnnotations | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
        input_schema: dict[str, Any] | None = None,
        permission: str | None = None,
        task_support: TaskSupport | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        fn: F | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        title: str | None = None,
        annotations: types.ToolAnnotations | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
        input_schema: dict[str, Any] | None = None,
        permission: str | None = None,
        task_support: TaskSupport | None = None,
    ) -> Any:
        """Decorator registering `fn` as a tool; usable bare or with keyword options.

        The input schema comes from `fn`'s type hints, unless `input_schema` gives a JSON Schema verbatim.
        `task_support` ("optional" or "required") lets clients of the MCP tasks extension run a long call as a
        durable task; unset (or "forbidden"), the tool is always called synchronously.
        """

        def register(func: F) -> F:
            self.add(
                func,
                name=name,
                description=description,
                title=title,
                annotations=annotations,
                output_schema=output_schema,
                input_schema=input_schema,
                permission=permission,
                task_support=task_support,
            )
            return func

        return register(fn) if fn is not None else register

    def add(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        title: str | None = None,
        annotations: types.ToolAnnotations | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
        input_schema: dict[str, Any] | None = None,
        permission: str | None = None,
        task_support: TaskSupport | None = None,
    ) -> ToolDefinition:
        local_name = name or func.__name__
        if not LOCAL_NAME_PATTERN.match(local_name):
            raise ValueError(f"tool name {local_name!r} may only use letters, digits, '_', '-' and '.'")
        if local_name in self._tools:
            raise ValueError(f"tool {local_name!r} is defined twice in namespace {self.namespace!r}")
        full_name = f"{self.namespace}_{local_name}"
        if len(full_name) > MAX_TOOL_NAME_LENGTH:
            raise ValueError(f"tool name {full_name!r} is longer than {MAX_TOOL_NAME_LENGTH} characters")
        if isinstance(output_schema, type):
            output_schema = output_schema.model_json_schema()
        definition = ToolDefinition(
            namespace=self.namespace,
            local_name=local_name,
            description=description or _docstring(func) or local_name.replace("_", " "),
            handler=func,
            signature=(
                schema_handler(func, input_schema)
                if input_schema is not None
                else inspect_handler(func, model_name=_model_name(full_name))
            ),
            title=title,
            annotations=annotations,
            output_schema=output_schema,
            permission=permission,
            task_support=task_support,
        )
        self._tools[local_name] = definition
        return definition


def to_call_result(value: Any) -> types.CallToolResult | types.InputRequiredResult:
    """Normalise whatever a tool returned into a CallToolResult (or an input_required result)."""
    if isinstance(value, types.CallToolResult | types.InputRequiredResult):
        return value
    if isinstance(value, ToolResult):
        content: list[types.ContentBlock] = []
        if value.text is not None:
            content.append(types.TextContent(text=value.text))
        elif value.structured is not None and not value.content:
            content.append(types.TextContent(text=_json(value.structured)))
        content.extend(value.content)
        return types.CallToolResult(
            content=content, structured_content=value.structured, is_error=value.is_error
        )
    if isinstance(value, str):
        return types.CallToolResult(content=[types.TextContent(text=value)])
    if isinstance(
        value, types.TextContent | types.ImageContent | types.AudioContent | types.EmbeddedResource
    ):
        return types.CallToolResult(content=[value])
    if isinstance(value, types.ResourceLink):
        return types.CallToolResult(content=[value])
    if isinstance(value, list) and value and all(_is_content_block(item) for item in value):
        return types.CallToolResult(content=list(value))
    if value is None:
        return types.CallToolResult(content=[])
    data = value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value
    structured = data if isinstance(data, dict) else {"result": data}
    return types.CallToolResult(content=[types.TextContent(text=_json(data))], structured_content=structured)


def error_result(message: str) -> types.CallToolResult:
    """A failed call's result. The message often quotes an exception or an upstream: credentials go."""
    return types.CallToolResult(content=[types.TextContent(text=redact_secrets(message))], is_error=True)


def _is_content_block(item: Any) -> bool:
    return isinstance(
        item,
        types.TextContent
        | types.ImageContent
        | types.AudioContent
        | types.EmbeddedResource
        | types.ResourceLink,
    )


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def _docstring(func: Callable[..., Any]) -> str:
    return inspect.cleandoc(func.__doc__ or "")


def _model_name(full_name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", full_name)) + "Arguments"
