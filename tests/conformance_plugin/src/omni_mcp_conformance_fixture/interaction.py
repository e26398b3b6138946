"""Asking the client for input in whichever protocol era the call speaks.

Handshake-era connections (through 2025-11-25) get a server-to-client request now (`ctx.sample`,
`ctx.elicit`). On 2026-07-28 there are no server-to-client requests: the tool returns an
`input_required` result, and the client retries the call with the answers in `ctx.input_responses`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import mcp.types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from omni_mcp import CallContext

Answer = TypeVar("Answer", types.ElicitResult, types.CreateMessageResult, types.ListRootsResult)
Sampled = types.CreateMessageResult | types.CreateMessageResultWithTools


def is_modern(ctx: CallContext) -> bool:
    """Whether this call speaks 2026-07-28 (stateless: input_required results instead of requests)."""
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def answer(ctx: CallContext, key: str, kind: type[Answer]) -> Answer | None:
    """The client's answer to input request `key` of the previous round, if it has the expected shape."""
    value = (ctx.input_responses or {}).get(key)
    return value if isinstance(value, kind) else None


def object_schema(**properties: str) -> dict[str, Any]:
    """A flat elicitation schema, every property required: `object_schema(name="string")`."""
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": list(properties),
    }


def elicitation(message: str, schema: dict[str, Any]) -> types.ElicitRequest:
    return types.ElicitRequest(params=types.ElicitRequestFormParams(message=message, requested_schema=schema))


def sampling(prompt: str, max_tokens: int) -> types.CreateMessageRequest:
    message = types.SamplingMessage(role="user", content=types.TextContent(text=prompt))
    return types.CreateMessageRequest(
        params=types.CreateMessageRequestParams(messages=[message], max_tokens=max_tokens)
    )


def list_roots() -> types.ListRootsRequest:
    return types.ListRootsRequest(params=types.RequestParams())


def input_required(requests: types.InputRequests, state: str | None = None) -> types.InputRequiredResult:
    """Ask the client for these inputs; `state` comes back (sealed by the gateway) as `ctx.request_state`."""
    return types.InputRequiredResult(input_requests=requests, request_state=state)


async def elicit(
    ctx: CallContext, key: str, message: str, schema: dict[str, Any]
) -> types.ElicitResult | types.InputRequiredResult:
    """Ask the user now (handshake era), or take the retry's answer / ask for one (2026-07-28)."""
    if not is_modern(ctx):
        return await ctx.elicit(message, schema)
    found = answer(ctx, key, types.ElicitResult)
    return found if found is not None else input_required({key: elicitation(message, schema)})


async def sample(
    ctx: CallContext, key: str, prompt: str, max_tokens: int
) -> Sampled | types.InputRequiredResult:
    """Ask the client's model now (handshake era), or take the retry's answer / ask for one (2026-07-28)."""
    request = sampling(prompt, max_tokens)
    if not is_modern(ctx):
        return await ctx.sample(request.params.messages, max_tokens)
    found = (ctx.input_responses or {}).get(key)
    if isinstance(found, types.CreateMessageResult | types.CreateMessageResultWithTools):
        return found
    return input_required({key: request})


def sampled_text(result: Sampled) -> str:
    """The text the client's model produced."""
    blocks = result.content if isinstance(result.content, list) else [result.content]
    return "".join(block.text for block in blocks if isinstance(block, types.TextContent))


def accepted(result: types.ElicitResult, field: str) -> str | None:
    """The value the user gave for `field`, if they accepted the form."""
    if result.action != "accept" or not result.content:
        return None
    value = result.content.get(field)
    return None if value is None else str(value)


def describe(result: types.ElicitResult) -> str:
    return f"action={result.action}, content={json.dumps(result.content or {})}"
