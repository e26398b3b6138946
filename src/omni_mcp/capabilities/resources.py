"""Resources as plugins declare them: fixed URIs and RFC 6570 URI templates."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mcp.types as types
from mcp.shared.uri_template import UriTemplate

from omni_mcp.capabilities.prompts import Completer
from omni_mcp.capabilities.tools import ToolError


class ResourceNotFound(ToolError):
    """Raise from a resource reader when the URI names nothing (a template's variables match no item):
    the client gets the same "Resource not found" error as for a URI no plugin serves."""


@dataclass(frozen=True)
class Resource:
    """A resource at a fixed URI: static `text`/`blob`, or a `read` function (may take a CallContext)."""

    uri: str
    name: str
    description: str = ""
    mime_type: str = "text/plain"
    text: str | None = None
    blob: bytes | None = None
    read: Callable[..., Any] | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.text, self.blob, self.read)) != 1:
            raise ValueError(f"resource {self.uri!r} needs exactly one of text=, blob= or read=")

    def to_mcp(self) -> types.Resource:
        return types.Resource(
            uri=self.uri,
            name=self.name,
            title=self.title,
            description=self.description or None,
            mime_type=self.mime_type,
        )


@dataclass(frozen=True)
class ResourceTemplate:
    """Resources addressed by a URI template; `read` receives the template variables as keywords."""

    uri_template: str
    name: str
    read: Callable[..., Any]
    description: str = ""
    mime_type: str = "text/plain"
    title: str | None = None
    complete: Completer | None = None
    parsed: UriTemplate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed", UriTemplate.parse(self.uri_template))

    def match(self, uri: str) -> dict[str, str | list[str]] | None:
        return self.parsed.match(uri)

    def to_mcp(self) -> types.ResourceTemplate:
        return types.ResourceTemplate(
            uri_template=self.uri_template,
            name=self.name,
            title=self.title,
            description=self.description or None,
            mime_type=self.mime_type,
        )


def to_read_result(uri: str, mime_type: str, value: Any) -> types.ReadResourceResult:
    """Normalise what a resource produced: str, bytes, contents, a list of contents, or a full result."""
    if isinstance(value, types.ReadResourceResult):
        return value
    if isinstance(value, types.TextResourceContents | types.BlobResourceContents):
        return types.ReadResourceResult(contents=[value])
    if isinstance(value, list) and all(
        isinstance(c, types.TextResourceContents | types.BlobResourceContents) for c in value
    ):
        return types.ReadResourceResult(contents=value)
    if isinstance(value, bytes):
        blob = base64.b64encode(value).decode("ascii")
        return types.ReadResourceResult(
            contents=[types.BlobResourceContents(uri=uri, mime_type=mime_type, blob=blob)]
        )
    if isinstance(value, str):
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=mime_type, text=value)]
        )
    raise TypeError(
        f"resource {uri!r} produced {type(value).__name__}, expected str, bytes or resource contents"
    )
