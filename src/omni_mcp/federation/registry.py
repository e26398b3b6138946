"""What an organization's upstreams list, as capabilities the router already serves.

Each upstream tool becomes a ToolDefinition (its JSON Schema kept verbatim and checked before forwarding),
each prompt a Prompt with a render function, each resource a Resource or ResourceTemplate with a reader;
all of them forward to the upstream's pooled session. Their owner is `upstream:<name>`, so RBAC, rate
limits, audit and visibility treat them like a plugin's.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import jsonschema  # type: ignore[import-untyped]
import mcp.types as types
from loguru import logger
from mcp.shared.exceptions import MCPError

from omni_mcp.capabilities.prompts import Prompt, PromptArgument
from omni_mcp.capabilities.resources import Resource, ResourceTemplate
from omni_mcp.capabilities.signatures import SchemaSignature
from omni_mcp.capabilities.tools import ToolDefinition, ToolError
from omni_mcp.context import CallContext
from omni_mcp.federation.connection import UpstreamConnection, UpstreamUnavailable
from omni_mcp.federation.naming import namespaced
from omni_mcp.gateway.capabilities import Owned

T = TypeVar("T")
OWNER_PREFIX = "upstream:"
_CONTEXT = "_omni_call_context"  # a keyword no upstream argument is likely to use


def owner_of(upstream: str) -> str:
    return OWNER_PREFIX + upstream


@dataclass
class FederatedCapabilities:
    """One organization's federated tools, prompts and resources, keyed as the gateway exposes them."""

    tools: dict[str, Owned[ToolDefinition]] = field(default_factory=dict)
    prompts: dict[str, Owned[Prompt]] = field(default_factory=dict)
    resources: dict[str, Owned[Resource]] = field(default_factory=dict)
    templates: dict[str, Owned[ResourceTemplate]] = field(default_factory=dict)

    @property
    def owners(self) -> frozenset[str]:
        found = {o.plugin for o in self.tools.values()} | {o.plugin for o in self.prompts.values()}
        found |= {o.plugin for o in self.resources.values()} | {o.plugin for o in self.templates.values()}
        return frozenset(found)


def federated_capabilities(connections: list[UpstreamConnection]) -> FederatedCapabilities:
    found = FederatedCapabilities()
    for connection in sorted(connections, key=lambda c: c.name):
        listing = connection.listing
        if listing is None:
            continue
        owner = owner_of(connection.name)
        for tool in listing.tools:
            definition = _tool(connection, tool)
            if definition is not None:
                _add(found.tools, definition.name, Owned(owner, definition), connection)
        for prompt in listing.prompts:
            exposed = _prompt(connection, prompt)
            _add(found.prompts, exposed.name, Owned(owner, exposed), connection)
        for resource in listing.resources:
            built_resource = _resource(connection, resource)
            _add(found.resources, built_resource.uri, Owned(owner, built_resource), connection)
        for template in listing.templates:
            built = _template(connection, template)
            if built is not None:
                _add(found.templates, built.uri_template, Owned(owner, built), connection)
    return found


def _add(target: dict[str, Owned[T]], key: str, owned: Owned[T], connection: UpstreamConnection) -> None:
    if key in target:  # two upstream names shortening alike, or two upstreams serving one URI: first wins
        logger.warning(
            "upstream {} of {}: {!r} is served already; skipped",
            connection.name,
            connection.spec.slug,
            key,
        )
        return
    target[key] = owned


async def _relay(what: str, call: Awaitable[T]) -> T:
    """Run one forwarded request; what the upstream refuses becomes our plugin-style error."""
    try:
        return await call
    except UpstreamUnavailable as error:
        raise ToolError(str(error)) from None
    except MCPError as error:
        raise ToolError(f"{what}: {error.message}") from None


def _tool(connection: UpstreamConnection, tool: types.Tool) -> ToolDefinition | None:
    schema = dict(tool.input_schema or {"type": "object"})
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        logger.warning(
            "upstream {} tool {!r}: invalid input schema: {}", connection.name, tool.name, error.message
        )
        return None
    original = tool.name
    upstream = connection.name

    async def forward(**arguments: Any) -> types.CallToolResult:
        context: CallContext = arguments.pop(_CONTEXT)

        async def relay_progress(progress: float, total: float | None, message: str | None) -> None:
            await context.report_progress(progress, total, message)

        return await _relay(
            f"upstream '{upstream}' tool '{original}'",
            connection.call_tool(original, arguments, relay_progress),
        )

    exposed = namespaced(upstream, original)
    return ToolDefinition(
        namespace=upstream,
        local_name=exposed[len(upstream) + 1 :],
        description=tool.description or "",
        handler=forward,
        signature=SchemaSignature(schema=schema, context_param=_CONTEXT),
        title=tool.title,
        annotations=tool.annotations,
        output_schema=tool.output_schema,
    )


def _prompt(connection: UpstreamConnection, prompt: types.Prompt) -> Prompt:
    original = prompt.name

    async def render(_omni_call_context: CallContext, **values: str) -> types.GetPromptResult:
        given = {name: value for name, value in values.items() if value}
        return await _relay(
            f"upstream '{connection.name}' prompt '{original}'", connection.get_prompt(original, given)
        )

    return Prompt(
        namespaced(connection.name, original),
        prompt.description or "",
        tuple(PromptArgument(a.name, a.description or "", bool(a.required)) for a in prompt.arguments or []),
        render=render,
        title=prompt.title,
    )


def _resource(connection: UpstreamConnection, resource: types.Resource) -> Resource:
    uri = str(resource.uri)

    async def read(_omni_call_context: CallContext) -> types.ReadResourceResult:
        return await _relay(f"upstream '{connection.name}'", connection.read_resource(uri))

    return Resource(
        uri,
        resource.name,
        description=resource.description or "",
        mime_type=resource.mime_type or "text/plain",
        read=read,
        title=resource.title,
    )


def _template(connection: UpstreamConnection, template: types.ResourceTemplate) -> ResourceTemplate | None:
    async def read(_omni_call_context: CallContext, **_variables: Any) -> types.ReadResourceResult:
        uri = _omni_call_context.name  # the URI the client asked for
        return await _relay(f"upstream '{connection.name}'", connection.read_resource(uri))

    try:
        return ResourceTemplate(
            template.uri_template,
            template.name,
            read=read,
            description=template.description or "",
            mime_type=template.mime_type or "text/plain",
            title=template.title,
        )
    except Exception as error:  # a template our parser does not understand: skip it, keep the rest
        logger.warning("upstream {} template {!r} skipped: {}", connection.name, template.uri_template, error)
        return None
